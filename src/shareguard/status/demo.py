"""Seed the demo status register: synthetic persons with histories, and a few share codes.

Persons are written with bulk Core inserts in chunks (never an ORM object per row), so
``shareguard demo --persons 1000000`` is a matter of minutes. Ids, names and histories are
fixed by the world's seed.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shareguard.clikit import console, err_console
from shareguard.status import names as namekeys
from shareguard.status import sharecodes
from shareguard.status.models import (
    ImmigrationDecision,
    MatchKey,
    Person,
    PersonDocument,
    PersonName,
    ShareCode,
    StatusRecord,
)
from shareguard.status.service import share_code_digest
from shareguard.status.synthetic import Generator
from shareguard.storage.base import today, utcnow

CHUNK = 5_000
#: The first persons get fixed histories and share codes, printed for the demo.
DEMO_CODES: list[tuple[str, str, str]] = [
    # history, purpose, what a check should answer
    ("settled", "right_to_work", "confirmed"),
    ("limited_conditions", "right_to_work", "confirmed (with conditions)"),
    ("pre_settled", "right_to_rent", "confirmed"),
    ("no_work", "right_to_work", "not_confirmed"),
    ("appeal_pending", "right_to_work", "referred"),
    ("corrected", "right_to_work", "confirmed (after a corrected wrong refusal)"),
]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _at(d: date) -> datetime:
    return datetime.combine(d, time(9, 0), tzinfo=UTC)


class _Rows:
    """Row dicts for one chunk, per table."""

    def __init__(self) -> None:
        self.persons: list[dict[str, Any]] = []
        self.names: list[dict[str, Any]] = []
        self.docs: list[dict[str, Any]] = []
        self.keys: list[dict[str, Any]] = []
        self.status: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []

    def flush(self, session: Session) -> None:
        raw = session.get_bind().dialect.name == "sqlite"
        for table, rows in [
            (Person, self.persons),
            (PersonName, self.names),
            (PersonDocument, self.docs),
            (MatchKey, self.keys),
            (StatusRecord, self.status),
            (ImmigrationDecision, self.decisions),
        ]:
            if not rows:
                continue
            if raw:
                # The driver's executemany with values converted once: several times faster
                # than per-row bind processing, which is what makes a million persons minutes.
                cols = list(rows[0])
                sql = (
                    f"INSERT INTO {table.__tablename__} ({', '.join(cols)}) "
                    f"VALUES ({', '.join('?' for _ in cols)})"
                )
                convs = [
                    _converter(next((r[c] for r in rows if r[c] is not None), None)) for c in cols
                ]
                session.connection().exec_driver_sql(
                    sql, [tuple(f(r[c]) for f, c in zip(convs, cols, strict=True)) for r in rows]
                )
            else:
                session.execute(insert(table), rows)
        self.__init__()  # type: ignore[misc]


def _sqlite(v: Any) -> Any:
    """A value as SQLAlchemy would store it in SQLite (see storage.base)."""
    if isinstance(v, uuid.UUID):
        return v.hex
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, list | dict):
        return json.dumps(v)
    if isinstance(v, bool):
        return int(v)
    return v


def _converter(sample: Any) -> Any:
    """A fast per-column converter chosen from one sample value."""
    kind = type(sample)
    if kind is uuid.UUID:
        return lambda v: None if v is None else v.hex
    if kind is datetime:
        return lambda v: None if v is None else _sqlite(v)
    if kind is date:
        return lambda v: None if v is None else v.isoformat()
    if kind is list or kind is dict:
        return json.dumps
    if kind is bool:
        return lambda v: None if v is None else int(v)
    if sample is None:
        return _sqlite
    return lambda v: v


def _history(
    rng: random.Random,
    pid: uuid.UUID,
    dob: date,
    kind: str,
    rows: _Rows,
    author: uuid.UUID | None,
    on: date,
) -> None:
    """Status records and decisions for one person, by history kind."""
    id_rng = rng

    def status(**kw: Any) -> uuid.UUID:
        sid = _uuid(id_rng)
        row: dict[str, Any] = {
            "id": sid,
            "person_id": pid,
            "valid_to": None,
            "may_work": True,
            "work_conditions": "",
            "may_rent": True,
            "may_study": True,
            "public_funds": False,
            "source": "demo",
            "evidence_ref": f"EV-{sid.hex[:8]}",
            "author_id": author,
            "supersedes_id": None,
            "reason": "grant",
        }
        row.update(kw)
        row.setdefault("recorded_at", _at(row["valid_from"]))
        rows.status.append(row)
        return sid

    def decision(**kw: Any) -> uuid.UUID:
        did = _uuid(id_rng)
        row: dict[str, Any] = {
            "id": did,
            "person_id": pid,
            "outcome": "",
            "appeal_state": "none",
            "final": False,
            "appeal_window_end": None,
            "overturned": False,
            "source": "demo",
            "evidence_ref": f"DEC-{did.hex[:8]}",
            "author_id": author,
            "supersedes_id": None,
        }
        row.update(kw)
        row.setdefault("recorded_at", _at(row["decided_on"]))
        rows.decisions.append(row)
        return did

    adult = max(dob + timedelta(days=18 * 365), date(2000, 1, 1))
    start = min(on - timedelta(days=30), adult + timedelta(days=rng.randrange(0, 3000)))
    if kind == "settled":
        decision(type="grant", decided_on=start, outcome="indefinite leave to remain", final=True)
        status(kind="settled", valid_from=start, public_funds=True)
    elif kind == "pre_settled":
        decision(type="grant", decided_on=start, outcome="pre-settled status", final=True)
        status(kind="pre_settled", valid_from=start, valid_to=max(start, on) + timedelta(days=900))
    elif kind in ("limited", "limited_conditions", "no_work", "expired"):
        end = on + timedelta(days=rng.randrange(30, 1500))
        if kind == "expired":
            end = on - timedelta(days=rng.randrange(10, 800))
            start = min(start, end - timedelta(days=365))
        decision(type="grant", decided_on=start, outcome="limited leave to remain", final=True)
        status(
            kind="limited_leave",
            valid_from=start,
            valid_to=end,
            may_work=kind != "no_work",
            work_conditions="20 hours a week in term time" if kind == "limited_conditions" else "",
        )
    elif kind == "appeal_pending":
        old_end = on - timedelta(days=rng.randrange(30, 300))
        status(kind="limited_leave", valid_from=old_end - timedelta(days=730), valid_to=old_end)
        decision(
            type="refusal",
            decided_on=old_end - timedelta(days=20),
            outcome="extension refused",
            appeal_state=rng.choice(["lodged", "pending"]),
            appeal_window_end=old_end - timedelta(days=6),
        )
    elif kind == "refused_final":
        old_end = on - timedelta(days=rng.randrange(200, 2000))
        status(kind="limited_leave", valid_from=old_end - timedelta(days=730), valid_to=old_end)
        decided = old_end - timedelta(days=10)
        decision(
            type="refusal",
            decided_on=decided,
            outcome="extension refused",
            final=True,
            appeal_state="none",
            appeal_window_end=decided + timedelta(days=14),
        )
        status(kind="no_leave", valid_from=old_end + timedelta(days=1), reason="leave ended")
    elif kind == "corrected":
        # A wrong refusal (the refusal-pool failure), later found wrong and corrected.
        decided = on - timedelta(days=rng.randrange(200, 900))
        wrong = decision(
            type="refusal",
            decided_on=decided,
            outcome="refused (in error)",
            final=True,
            appeal_window_end=decided + timedelta(days=14),
        )
        wrong_status = status(kind="no_leave", valid_from=decided, reason="refusal")
        fixed_on = decided + timedelta(days=rng.randrange(30, 150))
        decision(
            type="grant",
            decided_on=fixed_on,
            outcome="refusal withdrawn: caseworking error",
            final=True,
            overturned=True,
            supersedes_id=wrong,
        )
        status(
            kind=rng.choice(["settled", "pre_settled"]),
            valid_from=decided,
            valid_to=None,
            supersedes_id=wrong_status,
            reason="correction",
            recorded_at=_at(fixed_on),
            public_funds=True,
        )


def _kind(rng: random.Random) -> str:
    r = rng.random()
    for limit, kind in [
        (0.25, "settled"),
        (0.42, "pre_settled"),
        (0.62, "limited"),
        (0.67, "limited_conditions"),
        (0.70, "no_work"),
        (0.74, "expired"),
        (0.79, "appeal_pending"),
        (0.83, "corrected"),
        (0.92, "refused_final"),
    ]:
        if r < limit:
            return kind
    return "none"


def _demo_codes(world: Any) -> list[tuple[uuid.UUID, str, str, str, str]]:
    """(person id, code, purpose, history, expectation) for the printed demo codes."""
    rng = random.Random(f"{world.seed}:codes")
    ids = random.Random(f"{world.seed}:ids")
    out = []
    for history, purpose, expect in DEMO_CODES:
        pid = _uuid(ids)
        code = "".join(rng.choice(sharecodes.ALPHABET) for _ in range(sharecodes.LENGTH))
        out.append((pid, code, purpose, history, expect))
    return out


def seed(session: Session, world: Any, fresh: bool) -> None:
    """Create ``world.persons`` persons (idempotent: skipped when persons exist)."""
    demo = _demo_codes(world)
    if session.scalar(select(Person.id).limit(1)) is None:
        populate(session, world.seed, world.persons, world.users.get("caseworker"), demo)
    codes = []
    for pid, code, purpose, _history, expect in demo:
        person = session.get(Person, pid)
        if person is not None:
            codes.append(
                {
                    "code": sharecodes.display(code),
                    "date_of_birth": str(person.date_of_birth),
                    "purpose": purpose,
                    "expect": expect,
                    "person_id": str(pid),
                }
            )
    world.extra["share_codes"] = codes
    if codes:
        table = Table(
            "Share code",
            "Date of birth",
            "Purpose",
            "Expected answer",
            title="Demo share codes (check with a partner key)",
        )
        for c in codes:
            table.add_row(c["code"], c["date_of_birth"], c["purpose"], c["expect"])
        console.print(table)


def populate(
    session: Session,
    seed_value: int,
    n: int,
    author: uuid.UUID | None,
    demo: list[tuple[uuid.UUID, str, str, str, str]] | None = None,
    *,
    progress: bool = True,
) -> None:
    """Bulk-insert ``n`` synthetic persons with histories, a chunk at a time, in the caller's
    unit of work (the caller commits)."""
    gen = Generator(seed_value)
    rng = random.Random(f"{seed_value}:histories")
    pids = random.Random(f"{seed_value}:ids")  # person ids only: the demo codes rely on it
    ids = random.Random(f"{seed_value}:rows")
    on = today()
    now = utcnow()
    demo = demo or []
    rows = _Rows()
    columns = [
        TextColumn("[bold]persons"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    ]

    # On stderr, so a command's --json output or a benchmark's JSON stays clean.
    with Progress(*columns, console=err_console, disable=not progress or n < 1000) as bar:
        task = bar.add_task("persons", total=n)
        for i, p in enumerate(gen.people(n)):
            pid = _uuid(pids)
            kind = demo[i][3] if i < len(demo) else _kind(rng)
            age = (on - p.date_of_birth).days // 365
            cats = []
            roll = rng.random()
            if age < 18 and roll < 0.5:
                cats.append("pupil")
            if roll > 0.98:
                cats.append("patient")
            if rng.random() < 0.005:
                cats.append(rng.choice(["victim", "witness"]))
            rows.persons.append(
                {
                    "id": pid,
                    "created_at": now,
                    "date_of_birth": p.date_of_birth,
                    "nationality": p.nationality,
                    "categories": cats,
                    "locks": [],
                    "photo_ref": f"photo-{pid.hex[:12]}",
                    "postcode": "",
                }
            )
            for pos, (g, f, nk, script) in enumerate(p.names):
                rows.names.append(
                    {
                        "id": _uuid(ids),
                        "person_id": pid,
                        "given": g,
                        "family": f,
                        "kind": nk,
                        "script": script,
                        "position": pos,
                    }
                )
            for d in p.documents:
                rows.docs.append(
                    {
                        "id": _uuid(ids),
                        "person_id": pid,
                        "kind": "passport",
                        "number": d,
                        "issuing_country": p.nationality,
                    }
                )
            for k in namekeys.person_keys(
                [(g, f) for g, f, _, _ in p.names], p.date_of_birth, p.documents
            ):
                rows.keys.append({"key": k, "person_id": pid})
            _history(rng, pid, p.date_of_birth, kind, rows, author, on)
            if i < len(demo):
                _pid, code, purpose, _h, _e = demo[i]
                assert _pid == pid
                rows_code = {
                    "id": _uuid(ids),
                    "created_at": now,
                    "person_id": pid,
                    "purpose": purpose,
                    "code_hash": share_code_digest(code),
                    "expires_at": now + timedelta(days=90),
                    "revoked_at": None,
                    "hint": code[-3:],
                }
                rows.flush(session)
                session.execute(insert(ShareCode.__table__), [rows_code])  # type: ignore[arg-type]
            if len(rows.persons) >= CHUNK:
                rows.flush(session)
                bar.update(task, completed=i + 1)
        rows.flush(session)
        bar.update(task, completed=n)

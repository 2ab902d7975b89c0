"""The seed-scale register: the refusal pool and the people checked by share code or the NHS.

Written in bulk (``storage.bulk``): a person, their names, documents and match keys, their
status records and decisions, as the status register's own bulk seeding writes them (the
demo's histories, ``source = "demo-seeds"``), never an ORM object per row. What the story
needs to know later and the database does not say (which refusals were wrong, who holds a
driving licence) is the synthetic world's known truth, kept beside it in ``truth``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from shareguard.demo.seeds.plan import Plan, at
from shareguard.status import names as namekeys
from shareguard.status.models import (
    ImmigrationDecision,
    MatchKey,
    Person,
    PersonDocument,
    PersonName,
    StatusRecord,
)
from shareguard.status.synthetic import Generator, SyntheticPerson, with_dob
from shareguard.storage.bulk import Values, insert_rows

SOURCE = "demo-seeds"
CHUNK = 20_000
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
POSTCODE_AREAS = ["NF", "ES", "SE", "NW", "LS", "M", "B", "BS", "CF", "G", "EH", "L", "S"]


def uid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def postcode(rng: random.Random) -> str:
    """A UK-shaped synthetic postcode."""
    area = rng.choice(POSTCODE_AREAS)
    unit = rng.choice(UNIT_LETTERS) + rng.choice(UNIT_LETTERS)
    return f"{area}{rng.randrange(1, 30)} {rng.randrange(1, 10)}{unit}"


@dataclass
class PoolPerson:
    """One person of the refusal pool and the known truth about them."""

    person_id: uuid.UUID
    decision_id: uuid.UUID
    given: str
    family: str
    date_of_birth: date
    postcode: str
    #: Month of the year their entry is proposed (0: the pool's stock, gated in month 0).
    intake: int
    over_30: bool
    #: The refusal was wrong: corrected during the year (Windrush-like cases, mostly over 30).
    wrong: bool
    #: What the gate will find: "" (passes), "appeal_open", "implausible", "leave_conflict".
    issue: str
    #: Months (0-based) with a licence event at the agency (none: no licence).
    licence_months: tuple[int, ...] = ()
    #: Quarter (0-3) of their tax-credit claim, or -1.
    claim_quarter: int = -1


@dataclass
class Register:
    pool: list[PoolPerson] = field(default_factory=list)
    #: People with leave (or not): checked by share code and by the NHS, never pooled.
    population: list[uuid.UUID] = field(default_factory=list)
    population_dob: dict[uuid.UUID, date] = field(default_factory=dict)
    #: Their names as they might be typed (for the NHS's attribute checks).
    population_names: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)


COLUMNS: dict[Any, tuple[str, ...]] = {
    Person: (
        "id",
        "created_at",
        "date_of_birth",
        "nationality",
        "categories",
        "locks",
        "photo_ref",
        "postcode",
    ),
    PersonName: ("id", "person_id", "given", "family", "kind", "script", "position"),
    PersonDocument: ("id", "person_id", "kind", "number", "issuing_country"),
    MatchKey: ("key", "person_id"),
    StatusRecord: (
        "id",
        "person_id",
        "kind",
        "valid_from",
        "valid_to",
        "may_work",
        "work_conditions",
        "may_rent",
        "may_study",
        "public_funds",
        "source",
        "evidence_ref",
        "author_id",
        "supersedes_id",
        "reason",
        "recorded_at",
    ),
    ImmigrationDecision: (
        "id",
        "person_id",
        "type",
        "decided_on",
        "outcome",
        "appeal_state",
        "final",
        "appeal_window_end",
        "overturned",
        "source",
        "evidence_ref",
        "author_id",
        "supersedes_id",
        "recorded_at",
    ),
}


class _Rows:
    """Driver-ready rows per table for one chunk (each id converted once, not per row)."""

    def __init__(self, session: Session) -> None:
        self.v = Values(session.get_bind().dialect.name)
        self.tables: dict[Any, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
        self.persons = 0

    def add_person(
        self, rng: random.Random, pid: uuid.UUID, p: SyntheticPerson, post: str, now: Any
    ) -> Any:
        """The person's rows; returns their id as the driver takes it."""
        v = self.v
        pv = v.uuid(pid)
        self.persons += 1
        self.tables[Person].append(
            (
                pv,
                v.time(now),
                v.date(p.date_of_birth),
                p.nationality,
                "[]",
                "[]",
                f"photo-{pid.hex[:12]}",
                post,
            )
        )
        for pos, (g, f, kind, script) in enumerate(p.names):
            self.tables[PersonName].append((v.uuid(uid(rng)), pv, g, f, kind, script, pos))
        for d in p.documents:
            self.tables[PersonDocument].append((v.uuid(uid(rng)), pv, "passport", d, p.nationality))
        for k in namekeys.person_keys(
            [(g, f) for g, f, _, _ in p.names], p.date_of_birth, p.documents
        ):
            self.tables[MatchKey].append((k, pv))
        return pv

    def status(
        self,
        rng: random.Random,
        pv: Any,
        author: Any,
        *,
        kind: str,
        valid_from: date,
        valid_to: date | None = None,
        may_work: bool = True,
        work_conditions: str = "",
        may_rent: bool = True,
        may_study: bool = True,
        public_funds: bool = False,
        reason: str = "grant",
    ) -> uuid.UUID:
        v = self.v
        sid = uid(rng)
        self.tables[StatusRecord].append(
            (
                v.uuid(sid),
                pv,
                kind,
                v.date(valid_from),
                v.date(valid_to),
                v.bool(may_work),
                work_conditions,
                v.bool(may_rent),
                v.bool(may_study),
                v.bool(public_funds),
                SOURCE,
                f"SEEDS-EV-{sid.hex[:8]}",
                author,
                None,
                reason,
                v.time(at(valid_from, 9)),
            )
        )
        return sid

    def decision(
        self,
        rng: random.Random,
        pv: Any,
        author: Any,
        *,
        type: str,
        decided_on: date,
        outcome: str,
        final: bool = False,
        appeal_state: str = "none",
        appeal_window_end: date | None = None,
    ) -> uuid.UUID:
        v = self.v
        did = uid(rng)
        self.tables[ImmigrationDecision].append(
            (
                v.uuid(did),
                pv,
                type,
                v.date(decided_on),
                outcome,
                appeal_state,
                v.bool(final),
                v.date(appeal_window_end),
                v.bool(False),
                SOURCE,
                f"SEEDS-DEC-{did.hex[:8]}",
                author,
                None,
                v.time(at(decided_on, 10)),
            )
        )
        return did

    def flush(self, session: Session) -> None:
        for table, rows in self.tables.items():
            insert_rows(session, table, rows, COLUMNS[table], prepared=True)
            rows.clear()
        self.persons = 0


def _ages(plan: Plan, rng: random.Random, over_30: bool) -> date:
    """A date of birth on the right side of 30 at the pause, as an adult."""
    pause = plan.month_start(plan.pause_month)
    if over_30:
        lo, hi = date(1948, 1, 1), pause - timedelta(days=31 * 365 + 30)
    else:
        lo, hi = pause - timedelta(days=29 * 365 - 30), pause - timedelta(days=19 * 365)
    return lo + timedelta(days=rng.randrange((hi - lo).days))


def build_pool(
    session: Session, plan: Plan, authors: list[uuid.UUID], progress: Any = None
) -> list[PoolPerson]:
    """The refusal pool: persons, a final negative decision each, "no leave" from then on."""
    rng = random.Random(f"{plan.seed}:pool")
    gen = Generator(plan.seed)
    rows = _Rows(session)
    authors = [rows.v.uuid(a) for a in authors]  # as the driver takes them
    out: list[PoolPerson] = []
    now = at(plan.start - timedelta(days=1), 8)
    holders_rng = random.Random(f"{plan.seed}:licences")
    n_extra, p_extra = plan.extra_events
    for i, synthetic in enumerate(gen.people(plan.pool)):
        over_30 = rng.random() < plan.over_30
        wrong = rng.random() < (plan.wrong_over_30 if over_30 else plan.wrong_under_30)
        roll = rng.random()
        issue = ""
        if roll < plan.appeal_open:
            issue = "appeal_open"
        elif roll < plan.appeal_open + plan.implausible:
            issue = "implausible"
        elif roll < plan.appeal_open + plan.implausible + plan.leave_conflict:
            issue = "leave_conflict"
        dob = _ages(plan, rng, over_30) if issue != "implausible" else date(1899, 6, 1)
        p = with_dob(synthetic, dob)
        pid = uid(rng)
        post = postcode(rng)
        intake = (
            0
            if i < plan.stock
            else min(
                plan.months - 1,
                1 + (i - plan.stock) * (plan.months - 1) // max(1, plan.pool - plan.stock),
            )
        )
        if intake == 0:
            decided = plan.start - timedelta(days=rng.randrange(20, 3 * 365))
        else:
            decided = plan.month_start(intake) - timedelta(days=rng.randrange(16, 40))
        author = rng.choice(authors)
        pv = rows.add_person(rng, pid, p, post, now)
        kind = "curtailment" if rng.random() < 0.1 else "refusal"
        did = rows.decision(
            rng,
            pv,
            author,
            type=kind,
            decided_on=decided,
            outcome="leave curtailed" if kind == "curtailment" else "application refused",
            final=issue != "appeal_open",
            appeal_state=rng.choice(["lodged", "pending"]) if issue == "appeal_open" else "none",
            appeal_window_end=decided + timedelta(days=14),
        )
        rows.status(
            rng,
            pv,
            author,
            kind="limited_leave",
            valid_from=decided - timedelta(days=rng.randrange(400, 1500)),
            valid_to=decided - timedelta(days=1),
        )
        rows.status(
            rng,
            pv,
            author,
            kind="no_leave",
            valid_from=decided,
            may_work=False,
            may_rent=False,
            may_study=False,
            reason="refusal",
        )
        if issue == "leave_conflict":  # a later grant recorded elsewhere: the gate notices
            rows.status(
                rng,
                pv,
                author,
                kind="settled",
                valid_from=decided + timedelta(days=5),
                public_funds=True,
            )
        months: tuple[int, ...] = ()
        if holders_rng.random() < plan.licence_holders:
            count = 1 + sum(holders_rng.random() < p_extra for _ in range(n_extra))
            months = tuple(sorted(holders_rng.sample(range(plan.months), min(count, plan.months))))
        quarter = holders_rng.randrange(4) if holders_rng.random() < plan.hmrc_claims else -1
        out.append(
            PoolPerson(
                pid,
                did,
                p.given,
                p.family,
                dob,
                post,
                intake,
                over_30,
                wrong,
                issue,
                months,
                quarter,
            )
        )
        if rows.persons >= CHUNK:
            rows.flush(session)
            if progress:
                progress(len(out))
    rows.flush(session)
    return out


HISTORIES = [
    (0.30, "settled"),
    (0.55, "pre_settled"),
    (0.80, "limited"),
    (0.86, "limited_conditions"),
    (0.90, "no_work"),
    (0.95, "expired"),
    (0.98, "appeal_pending"),
    (1.00, "none"),
]


def build_population(
    session: Session, plan: Plan, authors: list[uuid.UUID], progress: Any = None
) -> Register:
    """People with leave (and some without): the ones employers, landlords, banks and the
    NHS check. Histories are as of the year's start; some expire during it."""
    rng = random.Random(f"{plan.seed}:population")
    gen = Generator(plan.seed + 1)
    rows = _Rows(session)
    authors = [rows.v.uuid(a) for a in authors]  # as the driver takes them
    reg = Register()
    on = plan.start
    now = at(on - timedelta(days=1), 8)
    for synthetic in gen.people(plan.population):
        pid = uid(rng)
        pv = rows.add_person(rng, pid, synthetic, postcode(rng), now)
        reg.population.append(pid)
        reg.population_dob[pid] = synthetic.date_of_birth
        reg.population_names[pid] = (synthetic.given, synthetic.family)
        author = rng.choice(authors)
        r = rng.random()
        kind = next(k for limit, k in HISTORIES if r < limit)
        start = on - timedelta(days=rng.randrange(60, 3000))
        if kind == "settled":
            rows.decision(
                rng,
                pv,
                author,
                type="grant",
                decided_on=start,
                outcome="indefinite leave to remain",
                final=True,
            )
            rows.status(rng, pv, author, kind="settled", valid_from=start, public_funds=True)
        elif kind == "pre_settled":
            rows.decision(
                rng,
                pv,
                author,
                type="grant",
                decided_on=start,
                outcome="pre-settled status",
                final=True,
            )
            rows.status(
                rng,
                pv,
                author,
                kind="pre_settled",
                valid_from=start,
                valid_to=on + timedelta(days=rng.randrange(200, 1500)),
            )
        elif kind in ("limited", "limited_conditions", "no_work", "expired"):
            end = on + timedelta(days=rng.randrange(30, 1200))
            if kind == "expired":  # runs out during the year
                end = on + timedelta(days=rng.randrange(10, 330))
            rows.decision(
                rng,
                pv,
                author,
                type="grant",
                decided_on=start,
                outcome="limited leave to remain",
                final=True,
            )
            rows.status(
                rng,
                pv,
                author,
                kind="limited_leave",
                valid_from=start,
                valid_to=end,
                may_work=kind != "no_work",
                work_conditions="20 hours a week in term time"
                if kind == "limited_conditions"
                else "",
            )
        elif kind == "appeal_pending":
            old_end = on - timedelta(days=rng.randrange(30, 200))
            rows.status(
                rng,
                pv,
                author,
                kind="limited_leave",
                valid_from=old_end - timedelta(days=730),
                valid_to=old_end,
            )
            rows.decision(
                rng,
                pv,
                author,
                type="refusal",
                decided_on=old_end - timedelta(days=20),
                outcome="extension refused",
                appeal_state=rng.choice(["lodged", "pending"]),
                appeal_window_end=old_end - timedelta(days=6),
            )
        if rows.persons >= CHUNK:
            rows.flush(session)
            if progress:
                progress(len(reg.population))
    rows.flush(session)
    return reg


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- the known truth, kept beside the database -----------------------------------------------
def save_register(path: Path, reg: Register) -> None:
    """Write the pool's known truth and the population's ids (Parquet; ids and codes only
    beside the names the story types into checks)."""
    path.mkdir(parents=True, exist_ok=True)
    pool = reg.pool
    pq.write_table(
        pa.table(
            {
                "person_id": [str(p.person_id) for p in pool],
                "decision_id": [str(p.decision_id) for p in pool],
                "given": [p.given for p in pool],
                "family": [p.family for p in pool],
                "date_of_birth": [p.date_of_birth.isoformat() for p in pool],
                "postcode": [p.postcode for p in pool],
                "intake": [p.intake for p in pool],
                "over_30": [p.over_30 for p in pool],
                "wrong": [p.wrong for p in pool],
                "issue": [p.issue for p in pool],
                "licence_months": [list(p.licence_months) for p in pool],
                "claim_quarter": [p.claim_quarter for p in pool],
            }
        ),
        path / "pool.parquet",
    )
    people = reg.population
    pq.write_table(
        pa.table(
            {
                "person_id": [str(p) for p in people],
                "date_of_birth": [reg.population_dob[p].isoformat() for p in people],
                "given": [reg.population_names[p][0] for p in people],
                "family": [reg.population_names[p][1] for p in people],
            }
        ),
        path / "population.parquet",
    )


def load_register(path: Path) -> Register:
    reg = Register()
    t = pq.read_table(path / "pool.parquet").to_pydict()
    for i in range(len(t["person_id"])):
        reg.pool.append(
            PoolPerson(
                person_id=uuid.UUID(t["person_id"][i]),
                decision_id=uuid.UUID(t["decision_id"][i]),
                given=t["given"][i],
                family=t["family"][i],
                date_of_birth=date.fromisoformat(t["date_of_birth"][i]),
                postcode=t["postcode"][i],
                intake=t["intake"][i],
                over_30=t["over_30"][i],
                wrong=t["wrong"][i],
                issue=t["issue"][i],
                licence_months=tuple(t["licence_months"][i]),
                claim_quarter=t["claim_quarter"][i],
            )
        )
    t = pq.read_table(path / "population.parquet").to_pydict()
    for i in range(len(t["person_id"])):
        pid = uuid.UUID(t["person_id"][i])
        reg.population.append(pid)
        reg.population_dob[pid] = date.fromisoformat(t["date_of_birth"][i])
        reg.population_names[pid] = (t["given"][i], t["family"][i])
    return reg

"""Report figures counted by the database: aggregations over indexed columns (reads only).

Each function returns its counts grouped by agreement (``Key``: the agreement's id, or None
for what happened under no agreement), narrowed to one agreement when ``agreement_id`` is
given; so the overall report reads each large table once for every agreement at the same
time. ``metrics`` folds the groups into the report's figures. Nothing here reads a row per
disclosure, check or audit entry into Python.

The figures must agree exactly with counting every row in Python (``rows``) and with the
audit log; tests hold them to both, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, distinct, func, literal, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from shareguard.agreements.models import AgreementEvent
from shareguard.audit.models import AuditEntry, AuditExemption
from shareguard.checks.models import Case, CaseKind, Check
from shareguard.corrections.models import (
    Correction,
    NoticeDisclosure,
    RectificationNotice,
    withdrawn,
)
from shareguard.exchange.models import ExchangeRequest, InboundBatch
from shareguard.matching.models import AdverseAction, Candidate, MatchRun
from shareguard.policy.models import Disclosure, Pause
from shareguard.reports.metrics import AroundMoment

Key = uuid.UUID | None
#: (kind, purpose, UTC day ``YYYY-MM-DD``, disclosures)
DayRow = tuple[str, str, str, int]


# -- dialect-neutral expressions -----------------------------------------------------------
class hours_between(FunctionElement[float]):
    """Hours from the first time to the second (NULL when either is NULL)."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


@compiles(hours_between, "postgresql")
def _hours_pg(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"


def _window(stmt: Any, column: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt


def _scope(stmt: Any, column: Any, agreement_id: Key) -> Any:
    return stmt if agreement_id is None else stmt.where(column == agreement_id)


def _int(value: Any) -> int:
    return int(value or 0)


# -- disclosures ---------------------------------------------------------------------------
def disclosure_days(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, list[DayRow]]:
    """Disclosures per (kind, purpose, UTC day), by agreement: one pass over an index kept in
    that order (``ix_disclosures_agreement_day``), so the database counts without sorting."""

    d = Disclosure
    stmt = select(d.agreement_id, d.day, d.kind, d.purpose, func.count()).group_by(
        d.agreement_id, d.day, d.kind, d.purpose
    )
    stmt = _window(_scope(stmt, d.agreement_id, agreement_id), d.at, since, until)
    out: dict[Key, list[DayRow]] = defaultdict(list)
    for aid, day, kind, purpose, n in session.execute(stmt):
        out[aid].append((kind, purpose, day.isoformat(), int(n)))
    return out


def disclosures_on_edges(
    session: Session,
    agreement_ids: Iterable[Key],
    around: AroundMoment,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, tuple[int, int]]:
    """Disclosures on the days ``around`` cuts, inside its window, by agreement (of those
    given; None: under none): (before the moment, from it).

    The rest of the window is whole days, which ``AroundMoment.whole_days`` takes from the
    per-day counts the report has already read. Each part is a range of the agreements'
    ``(agreement, at)`` index: a few days' entries, never the whole window's.
    """

    ids = list(dict.fromkeys(agreement_ids))
    scopes = []
    named = [i for i in ids if i is not None]
    if named:
        scopes.append(Disclosure.agreement_id.in_(named))
    if None in ids:
        scopes.append(Disclosure.agreement_id.is_(None))
    parts = []
    at = Disclosure.at
    for side, start, end in around.edges():
        for scope in scopes:
            part = (
                select(literal(side).label("side"), Disclosure.agreement_id, func.count())
                .where(scope, at >= start, at < end)
                .group_by(Disclosure.agreement_id)
            )
            parts.append(_window(part, at, since, until))
    out: dict[Key, tuple[int, int]] = {}
    if parts:
        for side, aid, n in session.execute(union_all(*parts)):
            before, after = out.get(aid, (0, 0))
            out[aid] = (before + int(n), after) if side == "before" else (before, after + int(n))
    return out


# -- checks --------------------------------------------------------------------------------
def check_outcomes(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, dict[str, int]]:
    """Checks by outcome, by agreement."""

    stmt = select(Check.agreement_id, Check.outcome, func.count()).group_by(
        Check.agreement_id, Check.outcome
    )
    stmt = _window(_scope(stmt, Check.agreement_id, agreement_id), Check.at, since, until)
    out: dict[Key, dict[str, int]] = defaultdict(dict)
    for aid, outcome, n in session.execute(stmt):
        out[aid][str(outcome)] = int(n)
    return out


def contested_checks(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, int]:
    """Checks with a contest case, by agreement."""

    stmt = (
        select(Check.agreement_id, func.count(distinct(Check.id)))
        .join(Case, and_(Case.check_id == Check.id, Case.kind == CaseKind.CONTEST))
        .group_by(Check.agreement_id)
    )
    stmt = _window(_scope(stmt, Check.agreement_id, agreement_id), Check.at, since, until)
    return {aid: int(n) for aid, n in session.execute(stmt)}


# -- refusals (from the audit log) ---------------------------------------------------------
def refusal_kinds(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, dict[str, int]]:
    """Requests the policy refused (``policy.deny`` entries) by kind, by agreement."""

    kind = func.coalesce(
        func.nullif(AuditEntry.details["kind"].as_string(), ""),
        func.nullif(AuditEntry.reasons[0].as_string(), ""),
        "other",
    )
    stmt = (
        select(AuditEntry.agreement_id, kind, func.count())
        .where(AuditEntry.action == "policy.deny", AuditEntry.decision == "deny")
        .group_by(AuditEntry.agreement_id, kind)
    )
    stmt = _window(_scope(stmt, AuditEntry.agreement_id, agreement_id), AuditEntry.at, since, until)
    out: dict[Key, dict[str, int]] = defaultdict(dict)
    for aid, k, n in session.execute(stmt):
        out[aid][str(k)] = out[aid].get(str(k), 0) + int(n)
    return out


def exemptions(session: Session, agreement_id: Key = None) -> dict[Key, int]:
    """Exemptions from subject access applied, by the agreement of the entry they cover.

    Read from the exemptions (few) to their entries, never the other way round.
    """

    seqs = list(session.scalars(select(AuditExemption.entry_seq)))
    out: dict[Key, int] = defaultdict(int)
    for i in range(0, len(seqs), 500):
        stmt = (
            select(AuditEntry.agreement_id, func.count())
            .where(AuditEntry.seq.in_(seqs[i : i + 500]))
            .group_by(AuditEntry.agreement_id)
        )
        for aid, n in session.execute(_scope(stmt, AuditEntry.agreement_id, agreement_id)):
            out[aid] += int(n)
    return dict(out)


# -- matching ------------------------------------------------------------------------------
def run_funnel(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, dict[str, int]]:
    """Match runs, their candidates, reviewed (state not pending) and confirmed, by agreement.

    The candidates are counted by run and review state straight off their ``(run_id,
    review_state)`` index, in its order (no join, no sort); the runs, a row each (a run per
    thousands of candidates), say whose they are.
    """

    runs = select(MatchRun.id, MatchRun.agreement_id)
    runs = _window(
        _scope(runs, MatchRun.agreement_id, agreement_id), MatchRun.created_at, since, until
    )
    whose: dict[uuid.UUID, Key] = {}
    out: dict[Key, dict[str, int]] = {}
    for run_id, aid in session.execute(runs):
        whose[run_id] = aid
        figures = out.setdefault(aid, {"runs": 0, "candidates": 0, "reviewed": 0, "confirmed": 0})
        figures["runs"] += 1
    if not whose:
        return out
    cands = (
        select(Candidate.run_id, Candidate.review_state, func.count())
        .where(Candidate.run_id.in_(runs.with_only_columns(MatchRun.id).scalar_subquery()))
        .group_by(Candidate.run_id, Candidate.review_state)
    )
    for run_id, state, n in session.execute(cands):
        figures = out[whose[run_id]]
        figures["candidates"] += int(n)
        if state is not None and state != "pending":
            figures["reviewed"] += int(n)
        if state == "same":
            figures["confirmed"] += int(n)
    return out


def kept_out(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, dict[str, Any]]:
    """People match runs' gates kept out of the watch list, by agreement: ``kept_out`` in all
    and ``by_policy`` (``{kind: people}``: a pause, a firewall rule), summed from the counts
    each run recorded (``matching.run_finish`` carries the same). Runs are few: a run per
    thousands of disclosures; read through the agreement's index."""

    r = MatchRun
    stmt = select(r.agreement_id, func.sum(r.counts["kept_out"].as_integer())).group_by(
        r.agreement_id
    )
    stmt = _window(_scope(stmt, r.agreement_id, agreement_id), r.created_at, since, until)
    out: dict[Key, dict[str, Any]] = {}
    for aid, n in session.execute(stmt):
        out[aid] = {"kept_out": _int(n), "by_policy": {}}
    if session.get_bind().dialect.name == "postgresql":
        kinds = func.json_each_text(r.counts["kept_out_by_policy"])
    else:
        kinds = func.json_each(r.counts, "$.kept_out_by_policy")
    each = kinds.table_valued("key", "value")
    by_kind = (
        select(r.agreement_id, each.c.key, func.sum(each.c.value.cast(Float)))
        .select_from(r)
        .join(each, each.c.key.is_not(None))
        .group_by(r.agreement_id, each.c.key)
    )
    by_kind = _window(_scope(by_kind, r.agreement_id, agreement_id), r.created_at, since, until)
    for aid, kind, n in session.execute(by_kind):
        if aid in out and n:
            out[aid]["by_policy"][str(kind)] = int(n)
    return out


def adverse_counts(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, tuple[int, int]]:
    """(adverse actions, overturned) by agreement; overturned when a rectification notice
    withdrew the disclosure the action rested on."""

    overturned = case(
        (and_(Candidate.disclosure_id.is_not(None), withdrawn(Candidate.disclosure_id)), 1),
        else_=0,
    )
    stmt = (
        select(AdverseAction.agreement_id, func.count(), func.sum(overturned))
        .join(Candidate, Candidate.id == AdverseAction.candidate_id)
        .group_by(AdverseAction.agreement_id)
    )
    stmt = _window(
        _scope(stmt, AdverseAction.agreement_id, agreement_id),
        AdverseAction.reported_at,
        since,
        until,
    )
    return {aid: (int(n), _int(o)) for aid, n, o in session.execute(stmt)}


# -- durations -----------------------------------------------------------------------------
def durations(
    session: Session,
    base: Any,
    *,
    grouped: bool,
    figures: Callable[[Any], list[Any]] | None = None,
) -> dict[Key, dict[str, Any]]:
    """Done, open, median, mean and maximum hours of ``base``'s (key, start, end) rows.

    ``base`` selects columns labelled ``key``, ``start`` and ``end`` (end NULL: still open),
    and any others ``figures`` aggregates: given the rows (a subquery of ``base``), it returns
    more aggregate columns, whose values come back as a tuple under ``figures``. ``grouped``
    gives figures per key, else one set under the key None. Two statements: the counts, then
    the medians (the mean of the two middle values for an even count, as
    ``statistics.median``), each the middle of its key's hours in order — a sort with a limit,
    which costs a fraction of ranking every row with window functions.
    """
    sub = base.subquery()
    hours = hours_between(sub.c.start, sub.c.end)
    done = func.count(sub.c.end)
    columns = [done, func.count() - done, func.avg(hours), func.max(hours)]
    extra = figures(sub) if figures is not None else []
    stmt = select(*columns, *extra)
    if grouped:
        stmt = stmt.add_columns(sub.c.key).group_by(sub.c.key)
    out: dict[Key, dict[str, Any]] = {}
    width = len(columns) + len(extra)
    for row in session.connection().execute(stmt):
        done_n, open_, mean, longest = row[:4]
        stats: dict[str, Any] = {
            "done": int(done_n),
            "open": int(open_),
            "mean_hours": None if mean is None else float(mean),
            "max_hours": None if longest is None else float(longest),
            "median_hours": None,
        }
        if extra:
            stats["figures"] = tuple(row[len(columns) : width])
        out[row[width] if grouped else None] = stats
    keys = [k for k, stats in out.items() if stats["done"]]
    middles = []
    for i, k in enumerate(keys):
        n = out[k]["done"]
        # n odd: the one middle value; n even: the two either side of the middle.
        ordered = select(hours.label("h")).where(sub.c.end.is_not(None))
        if grouped:
            ordered = ordered.where(sub.c.key.is_(None) if k is None else sub.c.key == k)
        middle = ordered.order_by(hours).offset((n - 1) // 2).limit(2 - n % 2).subquery()
        middles.append(select(literal(i).label("i"), func.avg(middle.c.h)))
    if middles:
        for i, median in session.connection().execute(union_all(*middles)):
            if median is not None:
                out[keys[int(i)]]["median_hours"] = float(median)
    return out


# -- corrections and notices ---------------------------------------------------------------
def notice_figures(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    now: datetime,
    overall: bool = False,
) -> dict[Key, dict[str, Any]]:
    """Corrections and rectification notices: per agreement the notices naming it (and the
    corrections behind them); with ``overall``, every notice and correction under None.

    Counts and time to rectify in one statement per call (``durations``)."""

    n = RectificationNotice

    def counts(rows: Any) -> list[Any]:
        late = and_(rows.c.end.is_(None), rows.c.deadline < now)
        return [
            func.count(distinct(rows.c.correction_id)),
            func.sum(case((late, 1), else_=0)),
            func.count(rows.c.escalated_at),
        ]

    notice = (
        n.first_disclosed_at.label("start"),
        n.acknowledged_at.label("end"),
        n.correction_id,
        n.deadline,
        n.escalated_at,
    )
    if overall:
        base = select(n.id.label("key"), *notice)
    else:
        pairs = select(NoticeDisclosure.agreement_id, NoticeDisclosure.notice_id).distinct()
        pairs = _scope(
            pairs.where(NoticeDisclosure.agreement_id.is_not(None)),
            NoticeDisclosure.agreement_id,
            agreement_id,
        ).subquery()
        base = select(pairs.c.agreement_id.label("key"), *notice).join(n, n.id == pairs.c.notice_id)
    timed = durations(
        session, _window(base, n.created_at, since, until), grouped=not overall, figures=counts
    )
    out: dict[Key, dict[str, Any]] = {}
    for k, stats in timed.items():
        corrections, overdue, escalated = stats.pop("figures")
        if stats["done"] + stats["open"] == 0:
            continue  # no notice (overall, an empty table still gives one row)
        out[k] = {
            "notices": stats["done"] + stats["open"],
            "corrections": int(corrections),
            "acknowledged": stats["done"],
            "overdue": _int(overdue),
            "escalated": int(escalated),
            "time_to_rectify": stats,
        }
    if overall:
        count = select(func.count()).select_from(Correction)
        corrections = _int(session.scalar(_window(count, Correction.created_at, since, until)))
        out.setdefault(None, _no_notices())["corrections"] = corrections
    return out


def _no_notices() -> dict[str, Any]:
    return {
        "notices": 0,
        "corrections": 0,
        "acknowledged": 0,
        "overdue": 0,
        "escalated": 0,
        "time_to_rectify": {"done": 0, "open": 0},
    }


# -- the door's other way ------------------------------------------------------------------
def request_states(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, list[tuple[str, str, int]]]:
    """Requests to partners per (state, the door's decision kind), by agreement."""

    r = ExchangeRequest
    stmt = select(r.agreement_id, r.state, r.decision_kind, func.count()).group_by(
        r.agreement_id, r.state, r.decision_kind
    )
    stmt = _window(_scope(stmt, r.agreement_id, agreement_id), r.created_at, since, until)
    out: dict[Key, list[tuple[str, str, int]]] = defaultdict(list)
    for aid, state, kind, n in session.execute(stmt):
        out[aid].append((str(state), str(kind), int(n)))
    return out


def response_times(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    overall: bool = False,
) -> dict[Key, dict[str, Any]]:
    """Hours from a request (not refused) to the partner's answer, by agreement or overall."""

    r = ExchangeRequest
    base = select(
        r.agreement_id.label("key"), r.created_at.label("start"), r.answered_at.label("end")
    ).where(r.state != "refused")
    base = _window(_scope(base, r.agreement_id, agreement_id), r.created_at, since, until)
    return durations(session, base, grouped=not overall)


def inbound_totals(
    session: Session,
    agreement_id: Key = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[Key, dict[str, Any]]:
    """What partners sent in, by agreement: submissions, files, rows, accepted, refused
    (and by the door's reason), quarantined."""

    b = InboundBatch
    stmt = select(
        b.agreement_id,
        func.count(),
        func.sum(case((b.source == "file", 1), else_=0)),
        func.sum(b.rows),
        func.sum(b.accepted),
        func.sum(b.refused),
        func.sum(b.quarantined),
    ).group_by(b.agreement_id)
    stmt = _window(_scope(stmt, b.agreement_id, agreement_id), b.created_at, since, until)
    out: dict[Key, dict[str, Any]] = {}
    for aid, subs, files, rows, accepted, refused, quarantined in session.execute(stmt):
        out[aid] = {
            "submissions": int(subs),
            "files": _int(files),
            "rows": _int(rows),
            "accepted": _int(accepted),
            "refused": _int(refused),
            "quarantined": _int(quarantined),
            "refused_by_reason": {},
        }
    # Each submission keeps its refusals as {reason: count}: sum them by reason in SQL.
    each = "json_each_text" if session.get_bind().dialect.name == "postgresql" else "json_each"
    reasons = getattr(func, each)(b.refusals).table_valued("key", "value")
    stmt = (
        select(b.agreement_id, reasons.c.key, func.sum(reasons.c.value.cast(Float)))
        .select_from(b)
        .join(reasons, reasons.c.key.is_not(None))
        .where(b.refused > 0)
        .group_by(b.agreement_id, reasons.c.key)
    )
    stmt = _window(_scope(stmt, b.agreement_id, agreement_id), b.created_at, since, until)
    for aid, reason, n in session.execute(stmt):
        if aid in out:
            out[aid]["refused_by_reason"][str(reason)] = int(n)
    return out


# -- pauses --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PauseStarts:
    """When pauses began, read once for a report: each agreement's first ``pause`` event and
    the pause register's starts with their scopes (pauses are few)."""

    events: dict[uuid.UUID, datetime]
    register: list[tuple[datetime, list[str]]]

    def first(self, agreement_id: Key = None) -> datetime | None:
        """When the first pause affecting the agreement (or any, when None) began, if ever."""
        found = [
            at for aid, at in self.events.items() if agreement_id is None or aid == agreement_id
        ]
        found += [
            starts_at
            for starts_at, scope in self.register
            if agreement_id is None or not scope or str(agreement_id) in scope
        ]
        return min(found) if found else None


def pause_starts(session: Session, agreement_id: Key = None) -> PauseStarts:
    """Pauses' starts for one agreement's report (or every agreement's): two index reads."""

    stmt = (
        select(AgreementEvent.agreement_id, func.min(AgreementEvent.at))
        .where(AgreementEvent.action == "pause")
        .group_by(AgreementEvent.agreement_id)
    )
    scoped = _scope(stmt, AgreementEvent.agreement_id, agreement_id)
    events = {aid: at for aid, at in session.execute(scoped)}
    register = [
        (at, list(scope or []))
        for at, scope in session.execute(select(Pause.starts_at, Pause.agreement_ids))
    ]
    return PauseStarts(events, register)


def yearly_disclosures(session: Session, agreement_id: uuid.UUID) -> list[dict[str, int]]:
    """``[{year, disclosures}]`` for one agreement, counted by the database (public register)."""

    stmt = (
        select(Disclosure.day, func.count())
        .where(Disclosure.agreement_id == agreement_id)
        .group_by(Disclosure.day)
    )
    years: dict[int, int] = defaultdict(int)
    for day, n in session.execute(stmt):
        years[day.year] += int(n)
    return [{"year": y, "disclosures": n} for y, n in sorted(years.items())]

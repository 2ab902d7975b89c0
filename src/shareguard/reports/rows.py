"""Reports counted row by row: every row read into Python, then counted by ``metrics``.

How reports were computed before they were computed in SQL (``sources``). Kept as the
reference the SQL figures are tested against (they must agree exactly) and as the baseline
``benchmarks/report_time.py`` measures in the same run. Fine to about 10^5 rows; the service
does not use it. Each function returns plain dicts; ``agreement_id`` narrows to one agreement.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.agreements.models import AgreementEvent
from shareguard.audit.models import AuditEntry, AuditExemption
from shareguard.checks.models import Case, CaseKind, Check
from shareguard.corrections.models import Correction, RectificationNotice
from shareguard.corrections.service import withdrawn_disclosures
from shareguard.exchange.models import ExchangeRequest, InboundBatch
from shareguard.matching.models import AdverseAction, Candidate, MatchRun
from shareguard.policy.models import Disclosure, Pause
from shareguard.reports import metrics

Rows = list[dict[str, Any]]


def _since(stmt: Any, column: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt


def disclosures(
    session: Session,
    agreement_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rows:
    """Disclosures made (the one door's record): ``id, kind, agreement_id, purpose, at``."""

    stmt = select(
        Disclosure.id,
        Disclosure.kind,
        Disclosure.agreement_id,
        Disclosure.purpose,
        Disclosure.recipient_org_id,
        Disclosure.at,
    )
    if agreement_id is not None:
        stmt = stmt.where(Disclosure.agreement_id == agreement_id)
    stmt = _since(stmt, Disclosure.at, since, until)
    return [r._asdict() for r in session.execute(stmt)]


def yearly_disclosures(session: Session, agreement_id: uuid.UUID) -> list[dict[str, int]]:
    """``[{year, disclosures}]`` for one agreement, counted by the database (public register)."""

    year = func.extract("year", Disclosure.at)
    stmt = (
        select(year, func.count())
        .where(Disclosure.agreement_id == agreement_id)
        .group_by(year)
        .order_by(year)
    )
    return [{"year": int(y), "disclosures": int(n)} for y, n in session.execute(stmt)]


def refusals(
    session: Session,
    agreement_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rows:
    """Requests the policy refused, from the audit log: ``kind`` is firewall, pause, limit..."""

    stmt = select(AuditEntry).where(
        AuditEntry.action == "policy.deny", AuditEntry.decision == "deny"
    )
    if agreement_id is not None:
        stmt = stmt.where(AuditEntry.agreement_id == agreement_id)
    stmt = _since(stmt, AuditEntry.at, since, until)
    out = []
    for e in session.scalars(stmt):
        details = e.details or {}
        kind = details.get("kind") or (e.reasons[0] if e.reasons else "other")
        out.append({"kind": str(kind), "agreement_id": e.agreement_id, "at": e.at, "seq": e.seq})
    return out


def checks(
    session: Session,
    agreement_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rows:
    """Checks with outcome and whether they were contested."""

    contested = set(session.scalars(select(Case.check_id).where(Case.kind == CaseKind.CONTEST)))
    stmt = select(Check.id, Check.agreement_id, Check.purpose, Check.outcome, Check.at)
    if agreement_id is not None:
        stmt = stmt.where(Check.agreement_id == agreement_id)
    stmt = _since(stmt, Check.at, since, until)
    return [{**r._asdict(), "contested": r.id in contested} for r in session.execute(stmt)]


def match_runs(
    session: Session,
    agreement_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rows:
    """Per run: candidates, reviewed (any review state but pending), confirmed (same), and
    the people its gate kept out (``kept_out``, ``kept_out_by_policy``) from its counts."""

    stmt = select(MatchRun.id, MatchRun.agreement_id, MatchRun.created_at, MatchRun.counts)
    if agreement_id is not None:
        stmt = stmt.where(MatchRun.agreement_id == agreement_id)
    stmt = _since(stmt, MatchRun.created_at, since, until)
    runs = {
        r.id: {
            "id": r.id,
            "agreement_id": r.agreement_id,
            "created_at": r.created_at,
            "candidates": 0,
            "reviewed": 0,
            "confirmed": 0,
            "kept_out": int((r.counts or {}).get("kept_out") or 0),
            "kept_out_by_policy": dict((r.counts or {}).get("kept_out_by_policy") or {}),
        }
        for r in session.execute(stmt)
    }
    if runs:
        cands = select(Candidate.run_id, Candidate.review_state).where(
            Candidate.run_id.in_(list(runs))
        )
        for run_id, state in session.execute(cands):
            row = runs[run_id]
            row["candidates"] += 1
            if state and state != "pending":
                row["reviewed"] += 1
            if state == "same":
                row["confirmed"] += 1
    return list(runs.values())


def adverse_actions(
    session: Session,
    agreement_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rows:
    """Adverse actions reported; ``overturned`` when a notice withdrew the data behind them."""

    stmt = select(
        AdverseAction.id,
        AdverseAction.agreement_id,
        AdverseAction.kind,
        AdverseAction.reported_at,
        Candidate.disclosure_id,
    ).join(Candidate, Candidate.id == AdverseAction.candidate_id)
    if agreement_id is not None:
        stmt = stmt.where(AdverseAction.agreement_id == agreement_id)
    stmt = _since(stmt, AdverseAction.reported_at, since, until)
    withdrawn = withdrawn_disclosures(session)
    return [
        {**r._asdict(), "overturned": bool(r.disclosure_id) and str(r.disclosure_id) in withdrawn}
        for r in session.execute(stmt)
    ]


def notices(
    session: Session,
    agreement_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Rows, Rows]:
    """(corrections, notices) — for one agreement, those whose notices name it."""

    stmt = select(RectificationNotice)
    stmt = _since(stmt, RectificationNotice.created_at, since, until)
    rows = [
        n
        for n in session.scalars(stmt)
        if agreement_id is None or str(agreement_id) in (n.agreement_ids or [])
    ]
    notice_rows = [
        {
            "id": n.id,
            "correction_id": n.correction_id,
            "organisation_id": n.organisation_id,
            "disclosed_at": n.first_disclosed_at,
            "acknowledged_at": n.acknowledged_at,
            "deadline": n.deadline,
            "escalated_at": n.escalated_at,
        }
        for n in rows
    ]
    if agreement_id is None:
        cstmt = _since(select(Correction.id, Correction.state), Correction.created_at, since, until)
        corrections = [r._asdict() for r in session.execute(cstmt)]
    else:
        ids = {n.correction_id for n in rows}
        corrections = [{"id": i} for i in sorted(ids, key=str)]
    return corrections, notice_rows


def exemptions(session: Session, agreement_id: uuid.UUID | None = None) -> int:
    """How many times an exemption from subject access was applied."""

    stmt = select(AuditExemption.id)
    if agreement_id is not None:
        stmt = stmt.join(AuditEntry, AuditEntry.seq == AuditExemption.entry_seq).where(
            AuditEntry.agreement_id == agreement_id
        )
    return len(list(session.scalars(stmt)))


def pause_started(session: Session, agreement_id: uuid.UUID | None = None) -> datetime | None:
    """When the first pause affecting the agreement (or any) began, if ever."""

    candidates: list[datetime] = []
    stmt = select(AgreementEvent.at).where(AgreementEvent.action == "pause")
    if agreement_id is not None:
        stmt = stmt.where(AgreementEvent.agreement_id == agreement_id)
    candidates += list(session.scalars(stmt))

    for p in session.scalars(select(Pause)):
        if agreement_id is None or not p.agreement_ids or str(agreement_id) in p.agreement_ids:
            candidates.append(p.starts_at)
    return min(candidates) if candidates else None


def exchange_requests(
    session: Session,
    agreement_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rows:
    """Requests to partners: ``state, decision_kind, created_at, answered_at``."""

    stmt = select(
        ExchangeRequest.state,
        ExchangeRequest.decision_kind,
        ExchangeRequest.created_at,
        ExchangeRequest.answered_at,
    )
    if agreement_id is not None:
        stmt = stmt.where(ExchangeRequest.agreement_id == agreement_id)
    stmt = _since(stmt, ExchangeRequest.created_at, since, until)
    return [dict(r._mapping) for r in session.execute(stmt)]


def inbound_batches(
    session: Session,
    agreement_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rows:
    """Submissions partners made: ``source, rows, accepted, refused, quarantined, refusals``."""

    stmt = select(
        InboundBatch.source,
        InboundBatch.rows,
        InboundBatch.accepted,
        InboundBatch.refused,
        InboundBatch.quarantined,
        InboundBatch.refusals,
    )
    if agreement_id is not None:
        stmt = stmt.where(InboundBatch.agreement_id == agreement_id)
    stmt = _since(stmt, InboundBatch.created_at, since, until)
    return [dict(r._mapping) for r in session.execute(stmt)]


def figures(
    session: Session,
    agreement_id: uuid.UUID | None,
    *,
    limit_per_day: int | None = None,
    period: str = "month",
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime,
) -> dict[str, Any]:
    """The measured sections of one report section, counted in Python from every row."""

    s, aid = session, agreement_id
    disclosed = disclosures(s, aid, since, until)
    corrections, notice_rows = notices(s, aid, since, until)
    paused_at = pause_started(s, aid)
    refused_summary = metrics.refusals_summary(refusals(s, aid, since, until))
    matching = metrics.match_summary(
        match_runs(s, aid, since, until), adverse_actions(s, aid, since, until)
    )
    return {
        "disclosures": {
            "total": len(disclosed),
            "by_kind": metrics.count_by(disclosed, "kind"),
            "by_purpose_and_period": metrics.by_purpose_and_period(disclosed, period),
            "yearly": metrics.yearly_volumes(disclosed),
        },
        "checks": metrics.checks_summary(checks(s, aid, since, until)),
        "matching": matching,
        "corrections": metrics.corrections_summary(corrections, notice_rows, now=now),
        "refusals": refused_summary,
        "exchange": metrics.exchange_summary(
            exchange_requests(s, aid, since, until), inbound_batches(s, aid, since, until)
        ),
        "volume": metrics.volume_against_limit(disclosed, limit_per_day),
        "pause_effect": {
            **metrics.pause_effect(disclosed, paused_at),
            **metrics.pause_cut(len(disclosed), refused_summary["by_kind"].get("pause", 0)),
            "kept_out_by_pause": matching["kept_out_by_policy"].get("pause", 0),
        },
        "exemptions_used": exemptions(s, aid),
    }

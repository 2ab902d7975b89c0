"""Per-agreement and overall reports, value assessments and review-date reminders.

Figures come from the capability tables through ``sources`` and are computed by the pure
``metrics``; this module only reads, except for recording value assessments.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.accounts.principal import Principal
from shareguard.agreements.direction import direction
from shareguard.agreements.models import Agreement, AgreementState
from shareguard.audit import AuditRecord, append
from shareguard.errors import InvalidInput, NotFound
from shareguard.reports import metrics, sources
from shareguard.reports.models import Conclusion, EvidenceStrength, ValueAssessment
from shareguard.storage.base import today, utcnow

READERS = ("governance_officer", "auditor", "system")
#: Review dates within this many days are reminded.
REMINDER_DAYS = 60


class ReportService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # reports -----------------------------------------------------------------------
    def report(
        self,
        principal: Principal,
        *,
        agreement_id: uuid.UUID | None = None,
        period: str = "month",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """The overall report with one section per agreement, or one agreement's report."""
        principal.require(*READERS)
        if period not in metrics.PERIODS:
            raise InvalidInput(
                f"period must be one of {', '.join(metrics.PERIODS)}", field="period"
            )
        if agreement_id is not None:
            agreement = self.session.get(Agreement, agreement_id)
            if agreement is None:
                raise NotFound(f"agreement {agreement_id} not found")
            return self.section(agreement, period=period, since=since, until=until)
        agreements = list(
            self.session.scalars(
                select(Agreement)
                .where(Agreement.state != AgreementState.DRAFT)
                .order_by(Agreement.reference)
            )
        )
        overall = self.section(None, period=period, since=since, until=until)
        overall["agreements"] = [
            self.section(a, period=period, since=since, until=until) for a in agreements
        ]
        return overall

    def section(
        self,
        agreement: Agreement | None,
        *,
        period: str = "month",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """One report section: everything measured for one agreement (or all, when None)."""
        aid = agreement.id if agreement else None
        s = self.session
        disclosed = sources.disclosures(s, aid, since, until)
        corrections, notices = sources.notices(s, aid, since, until)
        paused_at = sources.pause_started(s, aid)
        refusals = metrics.refusals_summary(sources.refusals(s, aid, since, until))
        refused = refusals["by_kind"]
        out: dict[str, Any] = {
            "agreement_id": str(aid) if aid else None,
            "reference": agreement.reference if agreement else None,
            "title": agreement.title if agreement else "All agreements",
            "state": agreement.state if agreement else None,
            "generated_at": utcnow().isoformat(),
            "period": period,
            "disclosures": {
                "total": len(disclosed),
                "by_kind": metrics.count_by(disclosed, "kind"),
                "by_purpose_and_period": metrics.by_purpose_and_period(disclosed, period),
                "yearly": metrics.yearly_volumes(disclosed),
            },
            "checks": metrics.checks_summary(sources.checks(s, aid, since, until)),
            "matching": metrics.match_summary(
                sources.match_runs(s, aid, since, until),
                sources.adverse_actions(s, aid, since, until),
            ),
            "corrections": metrics.corrections_summary(corrections, notices, now=utcnow()),
            "refusals": refusals,
            "exchange": metrics.exchange_summary(
                sources.exchange_requests(s, aid, since, until),
                sources.inbound_batches(s, aid, since, until),
            ),
            "volume": metrics.volume_against_limit(
                disclosed, agreement.limit_per_day if agreement else None
            ),
            "pause_effect": {
                **metrics.pause_effect(disclosed, paused_at),
                **metrics.pause_cut(len(disclosed), refused.get("pause", 0)),
            },
            "exemptions_used": sources.exemptions(s, aid),
        }
        if agreement is not None:
            out["direction"] = direction(s, agreement)
            names = dict(s.execute(select(Organisation.id, Organisation.name)).tuples().all())
            out["disclosers"] = [names.get(o, "?") for o in agreement.disclosers()]
            out["recipients"] = [names.get(o, "?") for o in agreement.recipients()]
            out["review_date"] = (
                agreement.review_date.isoformat() if agreement.review_date else None
            )
            latest = self.latest_assessment(agreement.id)
            out["value_assessment"] = _assessment_dict(latest) if latest else None
        return out

    def yearly_volumes(self, agreement_id: uuid.UUID) -> list[dict[str, int]]:
        return sources.yearly_disclosures(self.session, agreement_id)

    # value assessments -------------------------------------------------------------
    def assess(
        self,
        agreement_id: uuid.UUID,
        principal: Principal,
        *,
        period_start: date,
        period_end: date,
        benefit_claimed: str,
        evidence: str,
        evidence_strength: str,
        conclusion: str,
        next_review_date: date,
    ) -> ValueAssessment:
        """Record the governance officer's value assessment with the figures measured now."""
        principal.require("governance_officer")
        agreement = self.session.get(Agreement, agreement_id)
        if agreement is None:
            raise NotFound(f"agreement {agreement_id} not found")
        if period_end < period_start:
            raise InvalidInput("period_end is before period_start", field="period_end")
        if not benefit_claimed.strip():
            raise InvalidInput("state the benefit claimed", field="benefit_claimed")
        if not evidence.strip():
            raise InvalidInput(
                "give the evidence for the benefit (or say there is none)", field="evidence"
            )
        if evidence_strength not in set(EvidenceStrength):
            raise InvalidInput(
                "evidence_strength must be none, weak, moderate or strong",
                field="evidence_strength",
            )
        if conclusion not in set(Conclusion):
            raise InvalidInput(
                "conclusion must be continue, amend, suspend or end", field="conclusion"
            )
        if next_review_date <= today():
            raise InvalidInput("next_review_date must be in the future", field="next_review_date")
        since = datetime.combine(period_start, datetime.min.time()).astimezone()
        until = datetime.combine(period_end + timedelta(days=1), datetime.min.time()).astimezone()
        figures = self.section(agreement, since=since, until=until)
        row = ValueAssessment(
            agreement_id=agreement.id,
            period_start=period_start,
            period_end=period_end,
            benefit_claimed=benefit_claimed.strip(),
            evidence=evidence.strip(),
            evidence_strength=evidence_strength,
            error_rate=figures["matching"]["error_rate"],
            disclosures=figures["disclosures"]["total"],
            adverse_actions=figures["matching"]["adverse_actions"],
            conclusion=conclusion,
            next_review_date=next_review_date,
            assessed_by=principal.user_id,
        )
        self.session.add(row)
        self.session.flush()
        append(
            self.session,
            AuditRecord(
                action="report.value_assessment",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=agreement.id,
                details={"assessment": str(row.id), "conclusion": conclusion},
            ),
        )
        self.session.commit()
        return row

    def assessments(self, agreement_id: uuid.UUID, principal: Principal) -> list[ValueAssessment]:
        principal.require(*READERS)
        stmt = (
            select(ValueAssessment)
            .where(ValueAssessment.agreement_id == agreement_id)
            .order_by(ValueAssessment.created_at.desc())
        )
        return list(self.session.scalars(stmt))

    def latest_assessment(self, agreement_id: uuid.UUID) -> ValueAssessment | None:
        stmt = (
            select(ValueAssessment)
            .where(ValueAssessment.agreement_id == agreement_id)
            .order_by(ValueAssessment.created_at.desc())
            .limit(1)
        )
        return self.session.scalar(stmt)

    def reminders(self, principal: Principal, *, on: date | None = None) -> list[dict[str, Any]]:
        """Agreements whose review date has passed or falls within 60 days, or never assessed."""
        principal.require(*READERS)
        on = on or today()
        out = []
        stmt = select(Agreement).where(
            Agreement.state.in_([AgreementState.ACTIVE, AgreementState.PAUSED])
        )
        for a in self.session.scalars(stmt.order_by(Agreement.reference)):
            latest = self.latest_assessment(a.id)
            due = min(
                (d for d in (a.review_date, latest.next_review_date if latest else None) if d),
                default=None,
            )
            reasons = []
            if due is not None and due < on:
                reasons.append("review date has passed")
            elif due is not None and due <= on + timedelta(days=REMINDER_DAYS):
                reasons.append(f"review due within {REMINDER_DAYS} days")
            if latest is None:
                reasons.append("no value assessment recorded")
            if reasons:
                out.append(
                    {
                        "agreement_id": str(a.id),
                        "reference": a.reference,
                        "review_date": due.isoformat() if due else None,
                        "overdue": due is not None and due < on,
                        "reasons": reasons,
                    }
                )
        return out


def _assessment_dict(a: ValueAssessment) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "period_start": a.period_start.isoformat(),
        "period_end": a.period_end.isoformat(),
        "benefit_claimed": a.benefit_claimed,
        "evidence": a.evidence,
        "evidence_strength": a.evidence_strength,
        "error_rate": a.error_rate,
        "disclosures": a.disclosures,
        "adverse_actions": a.adverse_actions,
        "conclusion": a.conclusion,
        "next_review_date": a.next_review_date.isoformat(),
        "assessed_at": a.created_at.isoformat(),
    }


def transparency_volumes(session: Session, agreement: Agreement) -> dict[str, Any]:
    """Transparency register hook: each agreement's yearly disclosure volumes."""
    try:
        volumes = ReportService(session).yearly_volumes(agreement.id)
    except ImportError:  # the one door's disclosures table is not installed
        volumes = []
    return {"yearly_volumes": volumes}

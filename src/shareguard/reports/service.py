"""Per-agreement and overall reports, value assessments and review-date reminders.

Figures come from the capability tables through ``sources`` and are computed by the pure
``metrics``; this module only reads, except for recording value assessments.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.accounts.principal import Principal
from shareguard.agreements.direction import direction_of, operator_ids
from shareguard.agreements.models import Agreement, AgreementState
from shareguard.audit import AuditRecord, append
from shareguard.errors import InvalidInput, NotFound
from shareguard.reports import metrics, sources
from shareguard.reports.models import Conclusion, EvidenceStrength, ValueAssessment
from shareguard.storage.base import today, utcnow

READERS = ("governance_officer", "auditor", "system")
#: Review dates within this many days are reminded.
REMINDER_DAYS = 60
#: A pause's effect compares the disclosures in this many days before it and from it.
PAUSE_WINDOW_DAYS = 180


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
        # Each large table is read once, grouped by agreement, for every section; so is what
        # the sections say about their agreements.
        counted = Counted.load(self.session, None, since, until, now=utcnow())
        about = About.load(self.session, [a.id for a in agreements])
        overall = self._section(None, counted, about, period, since, until)
        overall["agreements"] = [
            self._section(a, counted, about, period, since, until) for a in agreements
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
        counted = Counted.load(
            self.session, agreement.id if agreement else None, since, until, now=utcnow()
        )
        about = About.load(self.session, [agreement.id] if agreement else [])
        return self._section(agreement, counted, about, period, since, until)

    def _section(
        self,
        agreement: Agreement | None,
        counted: Counted,
        about: About,
        period: str,
        since: datetime | None,
        until: datetime | None,
    ) -> dict[str, Any]:
        aid = agreement.id if agreement else None
        s = self.session
        figures = counted.figures(
            s,
            aid,
            limit_per_day=agreement.limit_per_day if agreement else None,
            period=period,
            since=since,
            until=until,
        )
        out: dict[str, Any] = {
            "agreement_id": str(aid) if aid else None,
            "reference": agreement.reference if agreement else None,
            "title": agreement.title if agreement else "All agreements",
            "state": agreement.state if agreement else None,
            "generated_at": utcnow().isoformat(),
            "period": period,
            **figures,
        }
        if agreement is not None:
            disclosers, recipients = agreement.disclosers(), agreement.recipients()
            out["direction"] = direction_of(disclosers, recipients, about.operators)
            out["disclosers"] = [about.names.get(o, "?") for o in disclosers]
            out["recipients"] = [about.names.get(o, "?") for o in recipients]
            out["review_date"] = (
                agreement.review_date.isoformat() if agreement.review_date else None
            )
            latest = about.assessments.get(agreement.id)
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
        self.session.flush()
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


@dataclass(frozen=True)
class About:
    """What report sections say about their agreements besides counts — which way the data
    flows, the parties' names, the latest value assessment — read once for every section."""

    operators: frozenset[uuid.UUID]
    names: dict[uuid.UUID, str]
    assessments: dict[uuid.UUID, ValueAssessment]

    @classmethod
    def load(cls, session: Session, agreement_ids: list[uuid.UUID]) -> About:
        if not agreement_ids:
            return cls(frozenset(), {}, {})
        names = {i: n for i, n in session.execute(select(Organisation.id, Organisation.name))}
        latest: dict[uuid.UUID, ValueAssessment] = {}
        stmt = (
            select(ValueAssessment)
            .where(ValueAssessment.agreement_id.in_(agreement_ids))
            .order_by(ValueAssessment.created_at.desc())
        )
        for assessment in session.scalars(stmt):  # few: one an agreement a year or so
            latest.setdefault(assessment.agreement_id, assessment)
        return cls(operator_ids(session), names, latest)


@dataclass
class Counted:
    """What the database counted for a report, grouped by agreement (``sources``).

    Loaded for one agreement, or (``agreement_id`` None) for all of them at once together
    with the overall figures that are not the sum of the agreements' (a notice or a
    correction may concern several agreements; medians do not add up).
    """

    days: dict[sources.Key, list[sources.DayRow]]
    outcomes: dict[sources.Key, dict[str, int]]
    contested: dict[sources.Key, int]
    refusals: dict[sources.Key, dict[str, int]]
    funnel: dict[sources.Key, dict[str, int]]
    adverse: dict[sources.Key, tuple[int, int]]
    kept_out: dict[sources.Key, dict[str, Any]]
    notices: dict[sources.Key, dict[str, Any]]
    requests: dict[sources.Key, list[tuple[str, str, int]]]
    responses: dict[sources.Key, dict[str, Any]]
    inbound: dict[sources.Key, dict[str, Any]]
    exemptions: dict[sources.Key, int]
    pauses: sources.PauseStarts
    overall: bool
    #: The overall figures not summed from the agreements' (set when ``overall``).
    all_notices: dict[str, Any] | None = None
    all_responses: dict[str, Any] | None = None
    #: Disclosures on the days a pause's window cuts, by agreement, per pause start (read
    #: once for every section whose pause began then).
    edges: dict[datetime, dict[sources.Key, tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        session: Session,
        agreement_id: uuid.UUID | None,
        since: datetime | None,
        until: datetime | None,
        *,
        now: datetime,
    ) -> Counted:
        s, aid, window = session, agreement_id, (since, until)
        overall = agreement_id is None
        counted = cls(
            days=sources.disclosure_days(s, aid, *window),
            outcomes=sources.check_outcomes(s, aid, *window),
            contested=sources.contested_checks(s, aid, *window),
            refusals=sources.refusal_kinds(s, aid, *window),
            funnel=sources.run_funnel(s, aid, *window),
            adverse=sources.adverse_counts(s, aid, *window),
            kept_out=sources.kept_out(s, aid, *window),
            notices=sources.notice_figures(s, aid, *window, now=now),
            requests=sources.request_states(s, aid, *window),
            responses=sources.response_times(s, aid, *window),
            inbound=sources.inbound_totals(s, aid, *window),
            exemptions=sources.exemptions(s, aid),
            pauses=sources.pause_starts(s, aid),
            overall=overall,
        )
        if overall:
            counted.all_notices = sources.notice_figures(s, None, *window, now=now, overall=True)[
                None
            ]
            counted.all_responses = sources.response_times(s, None, *window, overall=True).get(None)
        return counted

    def figures(
        self,
        session: Session,
        agreement_id: uuid.UUID | None,
        *,
        limit_per_day: int | None,
        period: str,
        since: datetime | None,
        until: datetime | None,
    ) -> dict[str, Any]:
        """The measured part of one section: the agreement's groups, or every group summed."""

        def pick(groups: dict[sources.Key, Any]) -> list[Any]:
            if agreement_id is None:
                return list(groups.values())
            return [groups[agreement_id]] if agreement_id in groups else []

        days = [d for group in pick(self.days) for d in group]
        refused = metrics.add_counts(*pick(self.refusals))
        funnel = metrics.add_counts(*pick(self.funnel))
        adverse = pick(self.adverse)
        kept = pick(self.kept_out)
        kept_by_policy = metrics.add_counts(*(k["by_policy"] for k in kept))
        inbound = pick(self.inbound)
        inbound_sum: dict[str, Any] = metrics.add_counts(
            *({k: v for k, v in i.items() if k != "refused_by_reason"} for i in inbound)
        )
        inbound_sum["refused_by_reason"] = metrics.add_counts(
            *(i["refused_by_reason"] for i in inbound)
        )
        if agreement_id is None:
            notices, responses = self.all_notices, self.all_responses
        else:
            notices = self.notices.get(agreement_id)
            responses = self.responses.get(agreement_id)
        disclosed = metrics.disclosure_figures(days, period)
        paused_at = self.pauses.first(agreement_id)
        before = after = 0
        if paused_at is not None:
            # Whole days from the day counts read above; only the days the window cuts
            # from the disclosures themselves.
            around = metrics.AroundMoment(paused_at, PAUSE_WINDOW_DAYS)
            before, after = around.whole_days(days)
            if paused_at not in self.edges:
                self.edges[paused_at] = sources.disclosures_on_edges(
                    session, self.days, around, since, until
                )
            edges = self.edges[paused_at]
            for key in self.days if agreement_id is None else [agreement_id]:
                on_edges = edges.get(key, (0, 0))
                before, after = before + on_edges[0], after + on_edges[1]
        return {
            "disclosures": disclosed,
            "checks": metrics.checks_from_counts(
                metrics.add_counts(*pick(self.outcomes)), sum(pick(self.contested))
            ),
            "matching": metrics.match_figures(
                funnel,
                sum(a for a, _ in adverse),
                sum(o for _, o in adverse),
                sum(k["kept_out"] for k in kept),
                kept_by_policy,
            ),
            "corrections": metrics.corrections_figures(notices),
            "refusals": {"total": sum(refused.values()), "by_kind": dict(sorted(refused.items()))},
            "exchange": metrics.exchange_figures(
                [r for group in pick(self.requests) for r in group], responses, inbound_sum
            ),
            "volume": metrics.volume_from_days(days, limit_per_day),
            "pause_effect": {
                **metrics.pause_window(paused_at, before, after, PAUSE_WINDOW_DAYS),
                **metrics.pause_cut(disclosed["total"], refused.get("pause", 0)),
                # People a pause kept out at a run's gate, before linking: not requests
                # refused at the door (``blocked_by_pause``), and never counted with them.
                "kept_out_by_pause": kept_by_policy.get("pause", 0),
            },
            "exemptions_used": sum(pick(self.exemptions)),
        }


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

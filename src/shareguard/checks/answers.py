"""The way out of a check, whichever way the person was found (``share_code``, ``attributes``).

The gate refuses a checker with no right to ask before anyone is looked up; the answer is built
by ``status.status_answer`` and leaves through the one door (``policy.disclose``); a referral
opens a case; answers that carry nothing about anyone are audited directly. The check row is
written complete, in the caller's transaction: nothing here commits (the boundary does), and a
refusal that keeps its audit entry raises through ``errors.keep_audit``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from shareguard import telemetry
from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import PURPOSES
from shareguard.audit import AuditRecord, append
from shareguard.checks.cases import RESPONSE_DAYS
from shareguard.checks.models import Case, CaseKind, CaseState, Check, Outcome
from shareguard.errors import InvalidInput, Refused, keep_audit
from shareguard.policy import (
    DisclosureRequest,
    Subject,
    agreement_for,
    decide,
    disclose,
    disclose_many,
)
from shareguard.policy.door import PolicyReading, read_policy
from shareguard.status.answer import status_answer
from shareguard.status.service import PersonFacts, Standing, StatusService, subject_of
from shareguard.storage.base import new_id, today, utcnow

#: Refusals that do not depend on the person: given before any look-up.
UPFRONT_REFUSALS = ("no_agreement", "agreement_state", "key_scope", "limit")


def contest_route(check_id: uuid.UUID) -> dict[str, str]:
    """What every non-confirmed answer carries: how the person contests it."""
    return {
        "how": (
            "Tell the person this result is not final. They can contest it within "
            f"{RESPONSE_DAYS} days; a caseworker answers by the case's response date. Take no "
            "adverse action while a case is open."
        ),
        "contest_url": f"/api/v1/checks/{check_id}/contest",
        "check_reference": str(check_id),
    }


@dataclass
class CheckResult:
    check: Check
    answer: dict[str, Any] | None = None
    case: Case | None = None
    contest: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return self.check.outcome


class CheckAnswers:
    """Gate, answer, refer and record one checker's checks (one per unit of work, or a batch)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.status = StatusService(session)
        #: The agreement the gate found, so the disclosure is decided under it without a look-up.
        self.agreement_id: uuid.UUID | None = None

    def purpose(self, purpose: str) -> None:
        """Refuse a purpose the catalogue does not know."""
        if purpose not in PURPOSES:
            raise InvalidInput("unknown purpose for a check", field="purpose")

    def gate(self, principal: Principal, purpose: str, method: str) -> PolicyReading:
        """Refuse, before looking anyone up, a checker with no right to ask at all.

        Otherwise a checker without an agreement could learn from "no match" versus a
        refusal whether a code or a name is known. Refusals that depend on the person
        (firewall, pause, lock) are decided later, with the subject, on the policy reading
        returned here (the generation is read once per check).
        """

        request = self.request(principal, purpose, method)
        reading = read_policy(self.session)
        decision = decide(self.session, request, reading=reading)
        # Decide the disclosure itself under the same agreement (saves finding it again).
        self.agreement_id = decision.agreement_id
        if decision.allowed or decision.kind not in UPFRONT_REFUSALS:
            return reading
        # audits the refusal
        out = disclose(self.session, request, {}, kind="check_answer", reading=reading)
        raise keep_audit(Refused(out.decision.reason, kind=out.decision.kind))

    def gate_many(
        self, principal: Principal, purpose: str, method: str, size: int
    ) -> PolicyReading:
        """``gate`` for a batch of ``size`` checks under one purpose: a refusal is audited once
        per check, as ``size`` checks one at a time would be, then raised."""
        try:
            return self.gate(principal, purpose, method)
        except Refused:
            if size > 1:
                request = self.request(principal, purpose, method)
                disclose_many(
                    self.session, [(request, {}, ())] * (size - 1), kind="check_answer", run=False
                )
            raise

    def request(
        self,
        principal: Principal,
        purpose: str,
        method: str,
        agreement_id: uuid.UUID | None = None,
        subject: Subject | None = None,
    ) -> DisclosureRequest:
        """The door's question for one check: the purpose's answer shape, by this method."""
        return DisclosureRequest(
            principal=principal,
            action="check",
            agreement_id=agreement_id,
            purpose=purpose,
            data_items=PURPOSES[purpose].answer_shape,
            subject=subject,
            check_method=method,
        )

    def agreement(self, principal: Principal, purpose: str) -> uuid.UUID | None:
        """The agreement the gate found, or the one the principal may act under."""
        if self.agreement_id is not None:
            return self.agreement_id
        agreement = agreement_for(self.session, principal, purpose)
        return agreement.id if agreement is not None else None

    def answer_for(
        self,
        principal: Principal,
        person: PersonFacts,
        purpose: str,
        method: str,
        score: float | None,
        reading: PolicyReading,
    ) -> CheckResult:
        """Answer about the person found: confirmed or not, or referred while an appeal is open."""
        standing: Standing = self.status.standing(person.id)
        decisions = standing.decisions
        built = status_answer(person, standing, purpose)
        answer, outcome, refs = built.answer, built.outcome, built.record_refs
        if outcome == Outcome.REFERRED:
            return self.refer(
                principal, person, decisions, purpose, method, score, reading, reason="appeal_open"
            )
        check = Check(
            organisation_id=principal.organisation_id,
            user_id=principal.user_id,
            purpose=purpose,
            method=method,
            outcome=outcome,
            person_id=person.id,
            score=score,
        )
        disclosed = self.disclose(principal, check, person, answer, refs, decisions, reading)
        result = CheckResult(check, answer=disclosed)
        if outcome != Outcome.CONFIRMED:
            result.contest = contest_route(check.id)
        return result

    def refer(
        self,
        principal: Principal,
        person: PersonFacts | None,
        decisions: Sequence[Any],
        purpose: str,
        method: str,
        score: float | None,
        reading: PolicyReading,
        *,
        reason: str,
    ) -> CheckResult:
        """A result that cannot be confirmed automatically: a case for a caseworker."""
        check = Check(
            organisation_id=principal.organisation_id,
            user_id=principal.user_id,
            purpose=purpose,
            method=method,
            outcome=Outcome.REFERRED,
            person_id=person.id if person else None,
            score=score,
        )
        if person is not None:
            self.disclose(principal, check, person, {}, [], decisions, reading)
        else:
            check.id = new_id()
            entry = append(
                self.session, referral_record(principal, purpose, method, check.id, reason)
            )
            check.audit_entry_id = entry.id
            self.store(check)
        case = Case(
            check_id=check.id,
            person_id=check.person_id,
            kind=CaseKind.REFERRAL,
            respond_by=today() + timedelta(days=RESPONSE_DAYS),
        )
        self.session.add(case)
        self.session.flush()
        return CheckResult(
            check, answer=None, case=case, contest=contest_route(check.id), extra={"reason": reason}
        )

    def disclose(
        self,
        principal: Principal,
        check: Check,
        person: PersonFacts,
        answer: dict[str, Any],
        refs: list[str],
        decisions: Sequence[Any],
        reading: PolicyReading,
    ) -> dict[str, Any] | None:
        """Send the answer through the one door; raise Refused through ``keep_audit`` (the
        boundary commits its audit entry, and nothing else was written yet) when refused."""

        request = self.request(
            principal,
            check.purpose,
            check.method,
            self.agreement(principal, check.purpose),
            subject_of(person, decisions),
        )
        out = disclose(
            self.session, request, answer, kind="check_answer", record_refs=refs, reading=reading
        )
        if not out.decision.allowed:
            raise keep_audit(Refused(out.decision.reason, kind=out.decision.kind))
        check.agreement_id = request.agreement_id
        check.disclosure_id = out.disclosure_id
        check.audit_entry_id = out.audit_entry_id
        self.store(check)
        return out.answer

    def store(self, check: Check) -> None:
        """INSERT the check row, complete (audit entry included), in the caller's transaction.

        Core, not the unit of work: the row is written once and never changed here, and
        flushing an object costs more than the rest of recording a check. ``check`` stays a
        plain (transient) object carrying the stored values.
        """
        if check.id is None:
            check.id = new_id()
        check.at = check.at or utcnow()
        row = check_row(check)
        self.session.connection().execute(INSERT_CHECK, row)
        counted([row])

    def store_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """INSERT many complete check rows at once (a batch)."""
        self.session.connection().execute(INSERT_CHECK, rows)
        counted(rows)


INSERT_CHECK = insert(Check.__table__)  # type: ignore[arg-type]
INSERT_CASE = insert(Case.__table__)  # type: ignore[arg-type]
CHECK_COLUMNS = tuple(c.key for c in Check.__table__.columns)
CASE_COLUMNS = tuple(c.key for c in Case.__table__.columns)


def referral_record(
    principal: Principal, purpose: str, method: str, check_id: uuid.UUID, reason: str
) -> AuditRecord:
    """The audit entry of a referred check with no one to disclose about (the door writes
    none then): the check itself, audited directly."""
    return AuditRecord(
        action=f"check.{method}",
        actor_org_id=principal.organisation_id,
        actor_user_id=principal.user_id,
        purpose=purpose,
        details={"check_id": str(check_id), "outcome": Outcome.REFERRED, "reason": reason},
    )


def referral_case(check_id: uuid.UUID, person_id: uuid.UUID | None) -> Case:
    """A referral's open case, complete with its id, for a batch to INSERT (``INSERT_CASE``
    with ``CASE_COLUMNS``): what ``refer`` adds one at a time."""
    return Case(
        id=new_id(),
        check_id=check_id,
        person_id=person_id,
        kind=CaseKind.REFERRAL,
        state=CaseState.OPEN,
        opened_at=utcnow(),
        respond_by=today() + timedelta(days=RESPONSE_DAYS),
        statement="",
        outcome="",
        outcome_note="",
    )


def counted(rows: Sequence[Mapping[str, Any]]) -> None:
    """Count checks by outcome for the operators' metrics (codes only)."""
    for row in rows:
        telemetry.count(
            "checks",
            outcome=str(row["outcome"]),
            purpose=str(row["purpose"]),
            method=str(row["method"]),
        )


def check_row(check: Check) -> dict[str, Any]:
    """The values of a check row, as ``INSERT_CHECK`` writes them."""
    return {k: getattr(check, k) for k in CHECK_COLUMNS}

"""Cases: referrals a check opens for a caseworker, and the person's contests of a result.

A caseworker answers each within ``RESPONSE_DAYS``; while one is open about a person no adverse
action is taken on them (``open_case_for``). Opening and closing are audited.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.audit import AuditRecord, append
from shareguard.checks.models import Case, CaseKind, CaseState, Check, Outcome
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.status.service import StatusService
from shareguard.storage.base import today, utcnow

#: Days a caseworker has to answer a referral or contest.
RESPONSE_DAYS = 10
CASEWORKER = "caseworker"


class CaseService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def case_for_check(self, check_id: uuid.UUID) -> Case | None:
        stmt = select(Case).where(Case.check_id == check_id).order_by(Case.opened_at.desc())
        return self.session.scalars(stmt).first()

    def contest(
        self,
        check_id: uuid.UUID,
        principal: Principal,
        statement: str = "",
        person_id: uuid.UUID | None = None,
    ) -> Case:
        """The person (or a caseworker for them) contests a non-confirmed result."""
        check = self.session.get(Check, check_id)
        person_id = principal.person_id or person_id
        if check is None:
            raise NotFound(f"check {check_id} not found")
        if principal.person_id is None and not principal.has(CASEWORKER):
            raise Forbidden("only the person, or a caseworker helping them, can contest")
        if check.person_id is not None and person_id is not None and check.person_id != person_id:
            raise NotFound(f"check {check_id} not found")
        if check.outcome == Outcome.CONFIRMED:
            raise Conflict("a confirmed result has nothing to contest", field="check")
        person_id = person_id or check.person_id
        case = self.case_for_check(check_id)
        if case is None or case.state == CaseState.CLOSED:
            case = Case(
                check_id=check.id,
                person_id=person_id,
                kind=CaseKind.CONTEST,
                respond_by=today() + timedelta(days=RESPONSE_DAYS),
            )
            self.session.add(case)
        case.person_id = case.person_id or person_id
        case.contested_at = utcnow()
        case.statement = statement
        self.session.flush()
        append(
            self.session,
            AuditRecord(
                action="check.contest",
                actor_user_id=principal.user_id,
                subject_ref=str(person_id) if person_id else None,
                purpose=check.purpose,
                details={"check_id": str(check.id), "case_id": str(case.id)},
            ),
        )
        return case

    def cases(
        self, principal: Principal, *, state: str | None = "open", limit: int = 50, offset: int = 0
    ) -> list[Case]:
        principal.require(CASEWORKER)
        stmt = select(Case).order_by(Case.respond_by, Case.opened_at, Case.id)
        if state:
            stmt = stmt.where(Case.state == state)
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def count_cases(self, principal: Principal, *, state: str | None = "open") -> int:
        """How many cases ``cases`` pages through (a count query; never capped)."""
        principal.require(CASEWORKER)
        stmt = select(func.count()).select_from(Case)
        if state:
            stmt = stmt.where(Case.state == state)
        return int(self.session.scalar(stmt) or 0)

    def case(self, case_id: uuid.UUID, principal: Principal) -> Case:
        principal.require(CASEWORKER)
        case = self.session.get(Case, case_id)
        if case is None:
            raise NotFound(f"case {case_id} not found")
        return case

    def resolve(
        self,
        case_id: uuid.UUID,
        principal: Principal,
        outcome: str,
        note: str = "",
        person_id: uuid.UUID | None = None,
    ) -> Case:
        """A caseworker closes a case with its outcome (recorded and audited)."""
        case = self.case(case_id, principal)
        if case.state == CaseState.CLOSED:
            raise Conflict("this case is already closed")
        if outcome not in ("confirmed", "not_confirmed", "no_record"):
            raise InvalidInput(
                "outcome must be confirmed, not_confirmed or no_record", field="outcome"
            )
        if person_id is not None:
            StatusService(self.session).person(person_id)
            case.person_id = person_id
        case.state = CaseState.CLOSED
        case.outcome = outcome
        case.outcome_note = note
        case.closed_at = utcnow()
        case.closed_by = principal.user_id
        case.assigned_to = case.assigned_to or principal.user_id
        append(
            self.session,
            AuditRecord(
                action="check.case_closed",
                actor_user_id=principal.user_id,
                actor_org_id=principal.organisation_id,
                subject_ref=str(case.person_id) if case.person_id else None,
                details={
                    "case_id": str(case.id),
                    "check_id": str(case.check_id),
                    "outcome": outcome,
                },
            ),
        )
        return case


def open_case_for(session: Session, person_id: uuid.UUID) -> bool:
    """True while a referral or contest about this person is open (no adverse action then)."""
    stmt = select(Case.id).where(Case.person_id == person_id, Case.state == CaseState.OPEN)
    return session.scalar(stmt.limit(1)) is not None

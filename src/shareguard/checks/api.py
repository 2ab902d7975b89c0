"""Check routes (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from shareguard.bounds import MAX_INT
from shareguard.checks import AttributeQuery, CheckService
from shareguard.checks.cases import CaseService, open_case_for
from shareguard.checks.models import Case, CaseState
from shareguard.checks.present import check_out
from shareguard.checks.schemas import (
    AttributeCheckIn,
    CaseDetailOut,
    CaseOut,
    CheckOut,
    ContestIn,
    OpenCaseOut,
    ResolveIn,
    ShareCodeCheckIn,
)
from shareguard.pagination import MAX_LIMIT
from shareguard.web.deps import CurrentPrincipal, SessionDep, allow

router = APIRouter(tags=["checks"])


@router.post("/checks/share-code", response_model=CheckOut, response_model_exclude_none=True)
def share_code_check(
    body: ShareCodeCheckIn, principal: CurrentPrincipal, session: SessionDep
) -> CheckOut:
    """Check by the person's share code and date of birth; ``no_match`` never says why."""
    return check_out(
        CheckService(session).share_code_check(
            principal, body.code, body.date_of_birth, body.purpose
        )
    )


@router.post("/checks/attributes", response_model=CheckOut, response_model_exclude_none=True)
def attribute_check(
    body: AttributeCheckIn, principal: CurrentPrincipal, session: SessionDep
) -> CheckOut:
    """Check by name and date of birth (and document number, nationality) where allowed."""
    return check_out(
        CheckService(session).attribute_check(
            principal,
            AttributeQuery(
                purpose=body.purpose,
                given=body.given,
                family=body.family,
                date_of_birth=body.date_of_birth,
                document_number=body.document_number,
                nationality=body.nationality,
            ),
        )
    )


@router.get("/checks/{check_id}", response_model=CheckOut, response_model_exclude_none=True)
def get_check(check_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> CheckOut:
    """A check's outcome and its case's progress (never the answer again)."""
    svc = CheckService(session)
    check = svc.check(check_id, principal)
    case = CaseService(session).case_for_check(check_id)
    return CheckOut(
        check_reference=check.id,
        at=check.at,
        purpose=check.purpose,
        method=check.method,
        outcome=check.outcome,
        case=CaseOut.model_validate(case) if case else None,
        audit_entry_id=check.audit_entry_id,
    )


@router.post("/checks/{check_id}/contest", response_model=CaseOut, status_code=201)
def contest(
    check_id: uuid.UUID, body: ContestIn, principal: CurrentPrincipal, session: SessionDep
) -> Case:
    """The person (or a caseworker for them) contests a result that is not ``confirmed``."""
    return CaseService(session).contest(check_id, principal, body.statement, body.person_id)


@router.get("/cases", response_model=list[CaseDetailOut], dependencies=[allow("caseworker")])
def list_cases(
    principal: CurrentPrincipal,
    session: SessionDep,
    state: CaseState | None = CaseState.OPEN,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[Case]:
    return CaseService(session).cases(principal, state=state, limit=limit, offset=offset)


@router.get("/cases/{case_id}", response_model=CaseDetailOut, dependencies=[allow("caseworker")])
def get_case(case_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> Case:
    return CaseService(session).case(case_id, principal)


@router.post(
    "/cases/{case_id}/resolve", response_model=CaseDetailOut, dependencies=[allow("caseworker")]
)
def resolve_case(
    case_id: uuid.UUID, body: ResolveIn, principal: CurrentPrincipal, session: SessionDep
) -> Case:
    return CaseService(session).resolve(case_id, principal, body.outcome, body.note, body.person_id)


@router.get(
    "/persons/{person_id}/open-case",
    response_model=OpenCaseOut,
    dependencies=[allow("caseworker", "reviewer", "governance_officer")],
)
def person_open_case(
    person_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> OpenCaseOut:
    principal.require("caseworker", "reviewer", "governance_officer")
    return OpenCaseOut(person_id=person_id, open_case=open_case_for(session, person_id))

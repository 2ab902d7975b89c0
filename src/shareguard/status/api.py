"""Status register routes: caseworkers record persons, decisions and status; share codes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from shareguard.accounts.principal import Principal
from shareguard.bounds import MAX_INT
from shareguard.errors import NotFound
from shareguard.pagination import MAX_LIMIT
from shareguard.status.models import ImmigrationDecision, Person, ShareCode, StatusRecord
from shareguard.status.present import person_detail
from shareguard.status.schemas import (
    DecisionIn,
    DecisionOut,
    PersonDetailOut,
    PersonIn,
    PersonOut,
    ShareCodeCreated,
    ShareCodeIn,
    ShareCodeOut,
    StatusIn,
    StatusOut,
)
from shareguard.status.service import StatusService
from shareguard.web.deps import CurrentPrincipal, SessionDep, allow

router = APIRouter(tags=["status"])


def _may_read(principal: Principal, person_id: uuid.UUID) -> None:
    if principal.person_id == person_id or principal.has("caseworker", "reviewer", "system"):
        return
    # A partner learns nothing, not even that the id exists: answers leave only through checks.
    raise NotFound(f"person {person_id} not found")


@router.post(
    "/persons", response_model=PersonOut, status_code=201, dependencies=[allow("caseworker")]
)
def create_person(body: PersonIn, principal: CurrentPrincipal, session: SessionDep) -> Person:
    """Register a person (caseworker)."""
    return StatusService(session).create_person(body, principal)


@router.get(
    "/persons", response_model=list[PersonOut], dependencies=[allow("caseworker", "reviewer")]
)
def list_persons(
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[Person]:
    principal.require("caseworker", "reviewer")
    return StatusService(session).list_persons(limit=limit, offset=offset)


@router.get("/persons/{person_id}", response_model=PersonDetailOut)
def get_person(
    person_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> PersonDetailOut:
    """A person with their status history and decisions (caseworker, or the person)."""
    _may_read(principal, person_id)
    svc = StatusService(session)
    return person_detail(svc, svc.person(person_id))


@router.post(
    "/persons/{person_id}/decisions",
    response_model=DecisionOut,
    status_code=201,
    dependencies=[allow("caseworker")],
)
def record_decision(
    person_id: uuid.UUID, body: DecisionIn, principal: CurrentPrincipal, session: SessionDep
) -> ImmigrationDecision:
    """Append a decision; to correct or update one, give ``supersedes_id``."""
    return StatusService(session).record_decision(person_id, body, principal)


@router.post(
    "/persons/{person_id}/status",
    response_model=StatusOut,
    status_code=201,
    dependencies=[allow("caseworker")],
)
def record_status(
    person_id: uuid.UUID, body: StatusIn, principal: CurrentPrincipal, session: SessionDep
) -> StatusRecord:
    """Append a status record; to correct one, give ``supersedes_id``."""
    return StatusService(session).record_status(person_id, body, principal)


@router.get("/persons/{person_id}/share-codes", response_model=list[ShareCodeOut])
def list_share_codes(
    person_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[ShareCode]:
    return StatusService(session).share_codes(person_id, principal)


@router.post("/persons/{person_id}/share-codes", response_model=ShareCodeCreated, status_code=201)
def create_share_code(
    person_id: uuid.UUID, body: ShareCodeIn, principal: CurrentPrincipal, session: SessionDep
) -> ShareCodeCreated:
    """Create a share code for one purpose; the code is shown only in this response."""
    row, code = StatusService(session).create_share_code(
        person_id, body.purpose, principal, days=body.days
    )
    return ShareCodeCreated(**ShareCodeOut.model_validate(row).model_dump(), code=code)


@router.post("/persons/{person_id}/share-codes/{code_id}/revoke", response_model=ShareCodeOut)
def revoke_share_code(
    person_id: uuid.UUID, code_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ShareCode:
    return StatusService(session).revoke_share_code(person_id, code_id, principal)

"""Retention routes (thin): the dry run, the report, legal holds."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from shareguard.retention.schemas import HoldIn, HoldOut, PlanOut, ReleaseIn, ReportOut
from shareguard.retention.service import READERS, RetentionService
from shareguard.web.deps import CurrentPrincipal, SessionDep, allow

router = APIRouter(tags=["retention"])


@router.get("/retention/plan", response_model=PlanOut, dependencies=[allow(*READERS)])
def plan(session: SessionDep) -> PlanOut:
    """What a retention run now would erase, and what it would keep (a dry run: writes nothing)."""
    found = RetentionService(session).plan()
    return PlanOut(as_of=found.as_of, would_erase=found.due, held=found.held)


@router.get("/retention/report", response_model=ReportOut, dependencies=[allow(*READERS)])
def report(
    principal: CurrentPrincipal,
    session: SessionDep,
    agreement: Annotated[str | None, Query(max_length=40)] = None,
) -> ReportOut:
    """What retention erased and when, per agreement and kind of record, with recent runs."""
    return ReportOut.model_validate(RetentionService(session).report(principal, agreement))


@router.get("/retention/holds", response_model=list[HoldOut], dependencies=[allow(*READERS)])
def holds(principal: CurrentPrincipal, session: SessionDep, all: bool = False) -> list[HoldOut]:
    """Legal holds: active ones, or all with ``all=true``."""
    rows = RetentionService(session).holds(principal, active=not all)
    return [HoldOut.model_validate(h, from_attributes=True) for h in rows]


@router.post("/retention/holds", response_model=HoldOut, status_code=201)
def place_hold(body: HoldIn, principal: CurrentPrincipal, session: SessionDep) -> HoldOut:
    """Hold a person's or an agreement's records from deletion (caseworker or governance
    officer; audited)."""
    row = RetentionService(session).place_hold(
        principal, body.reason, person_id=body.person_id, agreement=body.agreement
    )
    return HoldOut.model_validate(row, from_attributes=True)


@router.post("/retention/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(
    hold_id: uuid.UUID, body: ReleaseIn, principal: CurrentPrincipal, session: SessionDep
) -> HoldOut:
    """Release a legal hold (audited): past-period records go at the next run."""
    row = RetentionService(session).release_hold(hold_id, principal, body.reason)
    return HoldOut.model_validate(row, from_attributes=True)

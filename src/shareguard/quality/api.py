"""Data-quality routes: run the rules, work the queue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shareguard.bounds import MAX_INT
from shareguard.pagination import MAX_LIMIT
from shareguard.quality.models import FindingState
from shareguard.quality.schemas import AssignIn, FindingOut, ResolveIn, RunIn, RunOut
from shareguard.quality.service import QualityService
from shareguard.web.deps import CurrentPrincipal, SessionDep, allow


def quality_service(session: SessionDep) -> QualityService:
    return QualityService(session)


Quality = Annotated[QualityService, Depends(quality_service)]
router = APIRouter(tags=["quality"])


@router.post(
    "/quality/runs",
    response_model=RunOut,
    status_code=201,
    dependencies=[allow("reviewer", "caseworker", "governance_officer", "system")],
)
def run(principal: CurrentPrincipal, quality: Quality, body: RunIn | None = None) -> RunOut:
    """Run the data-quality rules now (every rule unless named)."""
    return RunOut.model_validate(
        quality.run(principal, only=(body.rules if body else None) or None)
    )


@router.get(
    "/quality/findings",
    response_model=list[FindingOut],
    dependencies=[allow("reviewer", "caseworker", "governance_officer", "system", "auditor")],
)
def findings(
    principal: CurrentPrincipal,
    quality: Quality,
    state: FindingState | None = FindingState.OPEN,
    owner_id: uuid.UUID | None = None,
    rule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[FindingOut]:
    rows = quality.findings(
        principal, state=state or None, owner_id=owner_id, rule=rule, limit=limit, offset=offset
    )
    return [FindingOut.model_validate(f) for f in rows]


@router.post(
    "/quality/findings/{finding_id}/resolve",
    response_model=FindingOut,
    dependencies=[allow("reviewer", "caseworker", "governance_officer", "system")],
)
def resolve(
    finding_id: uuid.UUID, body: ResolveIn, principal: CurrentPrincipal, quality: Quality
) -> FindingOut:
    f = quality.resolve(finding_id, principal, body.resolution, dismiss=body.dismiss)
    return FindingOut.model_validate(f)


@router.post(
    "/quality/findings/{finding_id}/assign",
    response_model=FindingOut,
    dependencies=[allow("reviewer", "caseworker", "governance_officer", "system")],
)
def assign(
    finding_id: uuid.UUID, body: AssignIn, principal: CurrentPrincipal, quality: Quality
) -> FindingOut:
    finding = quality.assign(finding_id, body.owner_id, principal, due_date=body.due_date)
    return FindingOut.model_validate(finding)

"""Agreement register routes (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query

from shareguard.agreements import transparency
from shareguard.agreements.direction import operator_ids
from shareguard.agreements.models import AgreementState
from shareguard.agreements.present import agreement_out
from shareguard.agreements.schemas import (
    AgreementIn,
    AgreementOut,
    PurposeCode,
    ReviewIn,
    TransitionIn,
)
from shareguard.bounds import MAX_INT
from shareguard.pagination import MAX_LIMIT, Page
from shareguard.web.deps import Agreements, CsvResponse, CurrentPrincipal, SessionDep, allow

router = APIRouter(tags=["agreements"])


@router.get("/agreements", response_model=Page[AgreementOut])
def list_agreements(
    principal: CurrentPrincipal,
    agreements: Agreements,
    state: AgreementState | None = None,
    purpose: PurposeCode | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> Page[AgreementOut]:
    rows, total = agreements.find(
        principal, state=state, purpose=purpose, limit=limit, offset=offset
    )
    return Page(
        items=[
            agreement_out(agreements.session, a, operators)
            for operators in [operator_ids(agreements.session)]
            for a in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/agreements",
    response_model=AgreementOut,
    status_code=201,
    dependencies=[allow("governance_officer")],
)
def create_agreement(
    body: AgreementIn, principal: CurrentPrincipal, agreements: Agreements
) -> AgreementOut:
    return agreement_out(agreements.session, agreements.create(body, principal))


@router.get("/agreements/{agreement_id}", response_model=AgreementOut)
def get_agreement(
    agreement_id: uuid.UUID, principal: CurrentPrincipal, agreements: Agreements
) -> AgreementOut:
    return agreement_out(agreements.session, agreements.get(agreement_id, principal))


def _transition(action: str) -> Callable[..., AgreementOut]:
    def route(
        agreement_id: uuid.UUID,
        principal: CurrentPrincipal,
        agreements: Agreements,
        body: TransitionIn | None = None,
    ) -> AgreementOut:
        agreements.get(agreement_id, principal)
        reason = body.reason if body else ""
        return agreement_out(
            agreements.session, agreements.transition(agreement_id, action, principal, reason)
        )

    route.__name__ = f"{action}_agreement"
    return route


for _action in ("activate", "pause", "resume", "end"):
    router.add_api_route(
        f"/agreements/{{agreement_id}}/{_action}",
        _transition(_action),
        methods=["POST"],
        response_model=AgreementOut,
        summary=f"{_action.capitalize()} an agreement",
    )


@router.post(
    "/agreements/{agreement_id}/review",
    response_model=AgreementOut,
    dependencies=[allow("governance_officer")],
)
def review_agreement(
    agreement_id: uuid.UUID, body: ReviewIn, principal: CurrentPrincipal, agreements: Agreements
) -> AgreementOut:
    return agreement_out(
        agreements.session,
        agreements.review(agreement_id, body.next_review_date, principal, body.reason),
    )


public = APIRouter(tags=["transparency"])


@public.get("/transparency", summary="Public register of data-sharing agreements (no auth)")
def transparency_json(session: SessionDep) -> dict[str, Any]:
    return transparency.register(session)


@public.get(
    "/transparency.csv",
    response_class=CsvResponse,
    summary="Public register as CSV (no auth)",
)
def transparency_csv(session: SessionDep) -> CsvResponse:
    return CsvResponse(
        transparency.register_csv(session),
        headers={"Content-Disposition": 'attachment; filename="agreements.csv"'},
    )

"""Corrections and rectification notices (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shareguard.bounds import MAX_INT
from shareguard.corrections.deliveries import WebhookService
from shareguard.corrections.models import CorrectionState
from shareguard.corrections.notices import NoticeService
from shareguard.corrections.present import correction_out, notice_out
from shareguard.corrections.requests import CorrectionRequestService
from shareguard.corrections.schemas import (
    AcknowledgeIn,
    CorrectionIn,
    CorrectionOut,
    CorrectionRequestCloseIn,
    CorrectionRequestIn,
    CorrectionRequestOut,
    NoticeOut,
    PersonNoticeOut,
    RecipientToldOut,
    RejectIn,
    WebhookIn,
    WebhookOut,
)
from shareguard.corrections.service import CorrectionService
from shareguard.pagination import MAX_LIMIT
from shareguard.web.deps import CurrentPrincipal, SessionDep, allow


def correction_service(session: SessionDep) -> CorrectionService:
    return CorrectionService(session)


def notice_service(session: SessionDep) -> NoticeService:
    return NoticeService(session)


def webhook_service(session: SessionDep) -> WebhookService:
    return WebhookService(session)


Corrections = Annotated[CorrectionService, Depends(correction_service)]
Notices = Annotated[NoticeService, Depends(notice_service)]
Webhooks = Annotated[WebhookService, Depends(webhook_service)]
router = APIRouter(tags=["corrections"])


@router.post(
    "/corrections",
    response_model=CorrectionOut,
    status_code=201,
    dependencies=[allow("caseworker")],
)
def create_correction(
    body: CorrectionIn, principal: CurrentPrincipal, corrections: Corrections
) -> CorrectionOut:
    """Correct a status record or decision; every recipient of the wrong data is notified."""
    c = corrections.correct(principal, **body.model_dump())
    return correction_out(corrections.session, c)


@router.get(
    "/corrections",
    response_model=list[CorrectionOut],
    dependencies=[allow("caseworker", "governance_officer", "auditor", "system")],
)
def list_corrections(
    principal: CurrentPrincipal,
    corrections: Corrections,
    state: CorrectionState | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[CorrectionOut]:
    rows = corrections.corrections(principal, state=state, limit=limit, offset=offset)
    return [correction_out(corrections.session, c) for c in rows]


@router.get(
    "/corrections/{correction_id}",
    response_model=CorrectionOut,
    dependencies=[allow("caseworker", "governance_officer", "auditor", "system")],
)
def get_correction(
    correction_id: uuid.UUID, principal: CurrentPrincipal, corrections: Corrections
) -> CorrectionOut:
    return correction_out(corrections.session, corrections.get(correction_id, principal))


@router.post(
    "/corrections/{correction_id}/approve",
    response_model=CorrectionOut,
    dependencies=[allow("caseworker")],
)
def approve_correction(
    correction_id: uuid.UUID, principal: CurrentPrincipal, corrections: Corrections
) -> CorrectionOut:
    """A second caseworker approves a correction that lifts an adverse action."""
    return correction_out(corrections.session, corrections.approve(correction_id, principal))


@router.post(
    "/corrections/{correction_id}/reject",
    response_model=CorrectionOut,
    dependencies=[allow("caseworker")],
)
def reject_correction(
    correction_id: uuid.UUID, body: RejectIn, principal: CurrentPrincipal, corrections: Corrections
) -> CorrectionOut:
    c = corrections.reject(correction_id, principal, body.reason)
    return correction_out(corrections.session, c)


@router.get("/corrections/{correction_id}/notices", response_model=list[NoticeOut])
def correction_notices(
    correction_id: uuid.UUID,
    principal: CurrentPrincipal,
    corrections: Corrections,
    notices: Notices,
) -> list[NoticeOut]:
    corrections.get(correction_id, principal)
    return [notice_out(n) for n in notices.notices_of(correction_id)]


@router.get("/notices", response_model=list[NoticeOut])
def list_notices(
    principal: CurrentPrincipal,
    notices: Notices,
    open_only: bool = False,
    organisation_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[NoticeOut]:
    """Rectification notices: a recipient sees its own; staff see all."""
    rows = notices.notices(
        principal, organisation_id=organisation_id, open_only=open_only, limit=limit, offset=offset
    )
    return [notice_out(n) for n in rows]


@router.get(
    "/notices/escalated",
    response_model=list[NoticeOut],
    dependencies=[allow("governance_officer", "auditor", "system")],
)
def escalated_notices(principal: CurrentPrincipal, notices: Notices) -> list[NoticeOut]:
    """Overdue notices escalated to the governance officer."""
    return [notice_out(n) for n in notices.escalations(principal)]


@router.get("/notices/{notice_id}", response_model=NoticeOut)
def get_notice(notice_id: uuid.UUID, principal: CurrentPrincipal, notices: Notices) -> NoticeOut:
    return notice_out(notices.notice(notice_id, principal))


@router.post("/notices/{notice_id}/acknowledge", response_model=NoticeOut)
def acknowledge_notice(
    notice_id: uuid.UUID,
    principal: CurrentPrincipal,
    notices: Notices,
    body: AcknowledgeIn | None = None,
) -> NoticeOut:
    """Acknowledge one of your organisation's notices (once)."""
    return notice_out(notices.acknowledge(notice_id, principal, body.note if body else ""))


@router.put("/organisations/{organisation_id}/webhook", response_model=WebhookOut)
def set_webhook(
    organisation_id: uuid.UUID,
    body: WebhookIn,
    principal: CurrentPrincipal,
    webhooks: Webhooks,
) -> WebhookOut:
    """Where notices are pushed; the signing secret is returned once."""
    secret = webhooks.set_webhook(organisation_id, body.url, principal)
    return WebhookOut(url=body.url, secret=secret)


@router.get("/persons/{person_id}/corrections/notices", response_model=list[PersonNoticeOut])
def person_notices(
    person_id: uuid.UUID, principal: CurrentPrincipal, notices: Notices
) -> list[PersonNoticeOut]:
    """What the person was told about corrections to their records."""
    return [PersonNoticeOut.model_validate(n) for n in notices.person_notices(person_id, principal)]


@router.get("/persons/{person_id}/corrections/recipients", response_model=list[RecipientToldOut])
def recipients_told(
    person_id: uuid.UUID, principal: CurrentPrincipal, notices: Notices
) -> list[RecipientToldOut]:
    """Which organisations were told of corrections to the person's records."""
    return [RecipientToldOut(**r) for r in notices.recipients_told(person_id, principal)]


# a person's requests for correction -------------------------------------------------------
@router.post(
    "/persons/{person_id}/correction-requests",
    response_model=CorrectionRequestOut,
    status_code=201,
)
def request_correction(
    person_id: uuid.UUID,
    body: CorrectionRequestIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> CorrectionRequestOut:
    """Record a person's request to correct their record; a caseworker answers within a month."""
    row = CorrectionRequestService(session).request(
        person_id, principal, body.what_is_wrong, body.correct_value
    )
    return CorrectionRequestOut.model_validate(row)


@router.get(
    "/correction-requests",
    response_model=list[CorrectionRequestOut],
    dependencies=[allow("caseworker")],
)
def open_correction_requests(
    principal: CurrentPrincipal, session: SessionDep
) -> list[CorrectionRequestOut]:
    """Open requests, soonest deadline first (caseworkers)."""
    rows = CorrectionRequestService(session).open_requests(principal)
    return [CorrectionRequestOut.model_validate(r) for r in rows]


@router.post(
    "/correction-requests/{request_id}/close",
    response_model=CorrectionRequestOut,
    dependencies=[allow("caseworker")],
)
def close_correction_request(
    request_id: uuid.UUID,
    body: CorrectionRequestCloseIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> CorrectionRequestOut:
    """Answer a request (caseworkers); the response is what the person reads."""
    row = CorrectionRequestService(session).close(
        request_id, principal, body.outcome, body.response
    )
    return CorrectionRequestOut.model_validate(row)

"""Requests to partners and data partners send in (thin: parse, call the service, shape)."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from shareguard.bounds import MAX_INT
from shareguard.errors import InvalidInput
from shareguard.exchange.inbound import InboundService
from shareguard.exchange.models import InboundState, RequestState
from shareguard.exchange.present import batch_out, record_out, request_out
from shareguard.exchange.schemas import (
    AnswerIn,
    BatchOut,
    DecideIn,
    EscalationOut,
    InboundRecordOut,
    RecordIn,
    RequestIn,
    RequestOut,
    agreement_of,
)
from shareguard.exchange.service import RequestService
from shareguard.pagination import MAX_LIMIT
from shareguard.web.deps import CurrentPrincipal, SessionDep

router = APIRouter(tags=["exchange"])


@router.post("/requests", response_model=RequestOut, status_code=201)
def create_request(body: RequestIn, principal: CurrentPrincipal, session: SessionDep) -> RequestOut:
    """Ask a partner for data items about a person. The door decides before the partner sees
    it: a refusal is a 403 problem+json with the plain-English reason and its ``kind``."""
    fields = body.model_dump(exclude={"agreement", "agreement_id"})
    row = RequestService(session).create(principal, agreement=agreement_of(body), **fields)
    return request_out(session, row, principal)


@router.get("/requests", response_model=list[RequestOut])
def list_requests(
    principal: CurrentPrincipal,
    session: SessionDep,
    state: RequestState | None = None,
    agreement_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[RequestOut]:
    """A partner's queue (its own requests); staff see every request, refused ones too."""
    rows = RequestService(session).find(
        principal, state=state, agreement_id=agreement_id, limit=limit, offset=offset
    )
    return [request_out(session, r, principal) for r in rows]


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(
    request_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> RequestOut:
    return request_out(session, RequestService(session).get(request_id, principal), principal)


@router.post("/requests/{request_id}/answer", response_model=RequestOut)
def answer_request(
    request_id: uuid.UUID, body: AnswerIn, principal: CurrentPrincipal, session: SessionDep
) -> RequestOut:
    """The partner answers: data (minimised; extra fields dropped and named in the audit),
    ``not_held``, or ``refused`` with a note saying why."""
    row = RequestService(session).answer(
        request_id, principal, outcome=body.outcome, data=body.data, note=body.note
    )
    return request_out(session, row, principal)


@router.post("/requests/escalate", response_model=EscalationOut)
def escalate_requests(principal: CurrentPrincipal, session: SessionDep) -> EscalationOut:
    """Remind partners of requests nearly due, escalate overdue ones, push due webhooks."""
    principal.require("governance_officer", "system")
    svc = RequestService(session)
    reminded = svc.remind_due()
    escalated = svc.escalate_overdue()
    return EscalationOut(
        reminded=len(reminded), escalated=len(escalated), deliveries=svc.deliver_webhooks()
    )


@router.post("/inbound", response_model=InboundRecordOut, status_code=201)
def submit_record(
    body: RecordIn, principal: CurrentPrincipal, session: SessionDep
) -> InboundRecordOut:
    """Send one record under an inbound agreement. A refusal (firewall, victim or witness,
    limits) is a 403 problem+json; the refusal is audited and nothing is kept."""
    fields = body.model_dump(exclude={"agreement", "agreement_id"})
    row = InboundService(session).submit_record(principal, agreement=agreement_of(body), **fields)
    return record_out(session, row, principal)


@router.post("/inbound/files", response_model=BatchOut, status_code=201)
def submit_file(
    principal: CurrentPrincipal,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    agreement: Annotated[str, Form(description="Agreement reference or id")] = "",
    agreement_id: Annotated[str, Form(description="Or the agreement's id")] = "",
    mode: Annotated[str, Form(pattern="^(reject|quarantine)$")] = "reject",
    mapping: Annotated[str, Form(description='JSON: {"name": "full_name", ...}')] = "{}",
) -> BatchOut:
    """Send a CSV or Parquet file. ``reject``: one malformed row refuses the file (422 with
    every row's line, column and reason); ``quarantine``: malformed rows are left out and
    listed. Each well-formed row is decided by the door."""
    if not (agreement or agreement_id):
        raise InvalidInput("name the agreement (reference or id)", field="agreement")
    try:
        parsed = json.loads(mapping or "{}")
    except ValueError:
        raise InvalidInput("mapping is not JSON", field="mapping") from None
    if not isinstance(parsed, dict):
        raise InvalidInput("mapping is a JSON object", field="mapping")
    suffix = Path(file.filename or "upload.csv").suffix.lower()
    with tempfile.TemporaryDirectory(prefix="shareguard-inbound-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with path.open("wb") as fh:
            shutil.copyfileobj(file.file, fh)
        out = InboundService(session).submit_file(
            principal,
            path,
            agreement=agreement or agreement_id,
            mode=mode,
            mapping=parsed,
            name=file.filename,
        )
    return batch_out(session, out.batch)


@router.get("/inbound", response_model=list[InboundRecordOut])
def list_records(
    principal: CurrentPrincipal,
    session: SessionDep,
    state: InboundState | None = None,
    agreement_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[InboundRecordOut]:
    """Staff: the queue of inbound information; a partner: what it sent."""
    rows = InboundService(session).records(
        principal,
        state=state,
        agreement_id=agreement_id,
        batch_id=batch_id,
        limit=limit,
        offset=offset,
    )
    return [record_out(session, r, principal) for r in rows]


@router.get("/inbound/batches/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> BatchOut:
    return batch_out(session, InboundService(session).batch(batch_id, principal))


@router.get("/inbound/{record_id}", response_model=InboundRecordOut)
def get_record(
    record_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> InboundRecordOut:
    return record_out(session, InboundService(session).get(record_id, principal), principal)


@router.post("/inbound/{record_id}/propose", response_model=InboundRecordOut)
def propose_record(
    record_id: uuid.UUID, body: DecideIn, principal: CurrentPrincipal, session: SessionDep
) -> InboundRecordOut:
    """A caseworker proposes the information is accurate; a second caseworker verifies it."""
    row = InboundService(session).propose(record_id, principal, body.note)
    return record_out(session, row, principal)


@router.post("/inbound/{record_id}/verify", response_model=InboundRecordOut)
def verify_record(
    record_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> InboundRecordOut:
    row = InboundService(session).verify(record_id, principal)
    return record_out(session, row, principal)


@router.post("/inbound/{record_id}/dismiss", response_model=InboundRecordOut)
def dismiss_record(
    record_id: uuid.UUID, body: DecideIn, principal: CurrentPrincipal, session: SessionDep
) -> InboundRecordOut:
    row = InboundService(session).dismiss(record_id, principal, body.note)
    return record_out(session, row, principal)

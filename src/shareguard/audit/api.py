"""Audit log routes: public key and latest checkpoint (public), proofs and tail (log readers)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.responses import JSONResponse, PlainTextResponse

from shareguard.audit.present import access_item_out, checkpoint_out, entry_out, public_key_out
from shareguard.audit.schemas import (
    AccessLogOut,
    CheckpointOut,
    EntryOut,
    ProofPendingOut,
    PublicKeyOut,
)
from shareguard.audit.service import ACCESS_LOG_READERS, LOG_READERS, AuditService
from shareguard.bounds import MAX_INT
from shareguard.errors import NotFound
from shareguard.web.deps import CurrentPrincipal, SessionDep, allow


def audit_service(request: Request, session: SessionDep) -> AuditService:
    return AuditService(session, request.app.state.settings)


Audit = Annotated[AuditService, Depends(audit_service)]

router = APIRouter(tags=["audit"])
public = APIRouter(tags=["audit"])


@public.get(
    "/audit/public-key", response_model=PublicKeyOut, summary="The log's signing key (no auth)"
)
def public_key(audit: Audit) -> PublicKeyOut:
    return public_key_out(audit.public_key())


@public.get(
    "/audit/checkpoint", response_model=CheckpointOut, summary="Latest signed checkpoint (no auth)"
)
def latest_checkpoint(audit: Audit) -> CheckpointOut:
    cp = audit.latest_checkpoint()
    if cp is None:
        raise NotFound("no checkpoint has been made yet")
    return checkpoint_out(cp)


@public.get(
    "/audit/checkpoint.txt",
    response_class=PlainTextResponse,
    summary="Latest checkpoint as a signed note, for transparency-log tooling (no auth)",
)
def latest_checkpoint_note(audit: Audit) -> str:
    cp = audit.latest_checkpoint()
    if cp is None:
        raise NotFound("no checkpoint has been made yet")
    return cp.note


@router.get(
    "/audit/proofs/inclusion/{seq}",
    summary="Inclusion proof bundle for one entry",
    dependencies=[allow("auditor", "governance_officer")],
)
def inclusion_proof(
    seq: Annotated[int, FastAPIPath(ge=0, le=MAX_INT)],
    principal: CurrentPrincipal,
    audit: Audit,
    size: Annotated[
        int | None,
        Query(ge=1, le=MAX_INT, description="Tree size; default the latest checkpoint"),
    ] = None,
) -> dict[str, Any]:
    principal.require(*LOG_READERS)
    return audit.inclusion(seq, size)


#: Seconds a client is asked to wait before asking again for a pending entry's proof.
PENDING_RETRY_SECONDS = 1


@router.get(
    "/audit/entries/{entry_id}/proof",
    summary="Inclusion proof bundle for one entry by id (202 while it waits to be integrated)",
    dependencies=[allow("auditor", "governance_officer")],
    responses={
        200: {"description": "The inclusion proof bundle, against a signed checkpoint"},
        202: {
            "model": ProofPendingOut,
            "description": "The entry is on the log but not yet in the tree: ask again after "
            "`Retry-After` seconds",
        },
    },
)
def entry_proof(entry_id: uuid.UUID, principal: CurrentPrincipal, audit: Audit) -> Any:
    """A check's answer names its audit entry's id; its proof is here once integrated."""
    principal.require(*LOG_READERS)
    _, bundle = audit.entry_proof(entry_id)
    if bundle is None:
        pending = ProofPendingOut(
            entry_id=entry_id,
            detail="the entry is recorded and waits for the integrator to give it its place "
            "in the tree; ask again shortly",
            retry_after=PENDING_RETRY_SECONDS,
        )
        return JSONResponse(
            pending.model_dump(mode="json"),
            status_code=202,
            headers={"Retry-After": str(PENDING_RETRY_SECONDS)},
        )
    return bundle


@router.get(
    "/audit/proofs/consistency",
    summary="Consistency proof bundle between two tree sizes",
    dependencies=[allow("auditor", "governance_officer")],
)
def consistency_proof(
    principal: CurrentPrincipal,
    audit: Audit,
    old: Annotated[int, Query(ge=0, le=MAX_INT)],
    new: Annotated[
        int | None, Query(ge=0, le=MAX_INT, description="Default: the latest checkpoint")
    ] = None,
) -> dict[str, Any]:
    principal.require(*LOG_READERS)
    return audit.consistency(old, new)


@router.get(
    "/audit/entries", response_model=list[EntryOut], summary="The newest entries (auditors)"
)
def entries_tail(
    principal: CurrentPrincipal, audit: Audit, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[EntryOut]:
    return [entry_out(e) for e in audit.tail(principal, limit)]


@router.get(
    "/persons/{person_id}/access-log",
    response_model=AccessLogOut,
    summary="Who checked this person's data (the person, caseworkers, auditors)",
)
def access_log(person_id: uuid.UUID, principal: CurrentPrincipal, audit: Audit) -> AccessLogOut:
    items = audit.access_log(person_id, principal)
    staff = principal.has(*ACCESS_LOG_READERS)
    return AccessLogOut(person_id=person_id, items=[access_item_out(i, staff=staff) for i in items])

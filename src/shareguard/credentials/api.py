"""Credential and lock routes (thin).

``router`` (signed in with a key or a staff session): online verification. ``public`` holds the
issuing key and the revocation list (no sign-in), and the routes a *person* uses for their own
credentials and locks: those accept the person signed in to the person-facing service (its
session cookie) as well as a key or staff session, and the services check who may act.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from shareguard.accounts.principal import Principal
from shareguard.config import Settings
from shareguard.credentials import format as fmt
from shareguard.credentials.present import credential_file, credential_out
from shareguard.credentials.schemas import (
    CredentialIn,
    CredentialIssued,
    CredentialOut,
    LocksOut,
    PublicKeyOut,
    RevocationListOut,
    RevokeIn,
    VerificationOut,
    VerifyIn,
)
from shareguard.credentials.service import LOCKS, CredentialService, LockService
from shareguard.web.deps import (
    CurrentPrincipal,
    SessionDep,
    check_cookie_write,
    current_principal,
    signed_in_person,
    signed_in_user,
)

router = APIRouter(tags=["credentials"])
public = APIRouter(tags=["credentials"])


def caller(request: Request, session: SessionDep) -> Principal:
    """A key or staff session as usual; else the person signed in to the person-facing service."""
    staff = request.headers.get("authorization") or signed_in_user(request, session)
    person = None if staff else signed_in_person(request, session)
    if person is not None:
        check_cookie_write(request)
        return Principal(organisation_id=None, person_id=person)
    return current_principal(request, session)


Caller = Annotated[Principal, Depends(caller)]


def _svc(request: Request, session: SessionDep) -> CredentialService:
    settings: Settings = request.app.state.settings
    return CredentialService(session, settings)


@public.post("/persons/{person_id}/credentials", response_model=CredentialIssued, status_code=201)
def issue_credential(
    person_id: uuid.UUID,
    body: CredentialIn,
    principal: Caller,
    request: Request,
    session: SessionDep,
) -> CredentialIssued:
    """Issue a signed credential for one purpose (the person, or a caseworker for them)."""
    row = _svc(request, session).issue(person_id, body.purpose, principal, days=body.days)
    return CredentialIssued(**credential_out(row).model_dump(), credential=row.token)


@public.get("/persons/{person_id}/credentials", response_model=list[CredentialOut])
def list_credentials(
    person_id: uuid.UUID, principal: Caller, request: Request, session: SessionDep
) -> list[CredentialOut]:
    return [credential_out(r) for r in _svc(request, session).for_person(person_id, principal)]


@public.get("/credentials/{credential_id:uuid}", response_model=CredentialOut)
def get_credential(
    credential_id: uuid.UUID, principal: Caller, request: Request, session: SessionDep
) -> CredentialOut:
    return credential_out(_svc(request, session).get(credential_id, principal))


@public.get(
    "/credentials/{credential_id:uuid}/download",
    response_class=Response,
    responses={200: {"content": {fmt.MEDIA_TYPE: {}}}},
)
def download_credential(
    credential_id: uuid.UUID, principal: Caller, request: Request, session: SessionDep
) -> Response:
    """The credential as a file (``application/vc+jwt``)."""
    return credential_file(_svc(request, session).get(credential_id, principal))


@public.get("/credentials/{credential_id:uuid}/page", response_class=HTMLResponse)
def credential_page(
    credential_id: uuid.UUID, principal: Caller, request: Request, session: SessionDep
) -> HTMLResponse:
    """The printable page with the QR code."""
    svc = _svc(request, session)
    return HTMLResponse(
        svc.page(svc.get(credential_id, principal)), headers={"Cache-Control": "no-store"}
    )


@public.post("/credentials/{credential_id:uuid}/revoke", response_model=CredentialOut)
def revoke_credential(
    credential_id: uuid.UUID,
    principal: Caller,
    request: Request,
    session: SessionDep,
    body: RevokeIn | None = None,
) -> CredentialOut:
    reason = body.reason if body else "person_request"
    return credential_out(_svc(request, session).revoke(credential_id, principal, reason))


@router.post("/credentials/verify", response_model=VerificationOut)
def verify_credential(
    body: VerifyIn, principal: CurrentPrincipal, request: Request, session: SessionDep
) -> VerificationOut:
    """Verify online: signature, dates and the live revocation state (audited)."""
    result = _svc(request, session).verify_online(body.credential, principal)
    return VerificationOut(**result.as_dict())


@public.get("/credentials/public-key", response_model=PublicKeyOut)
def public_key(request: Request, session: SessionDep) -> PublicKeyOut:
    """The issuing public key, as PEM and JWK: all a checker needs to verify offline."""
    key = _svc(request, session).public_key()
    jwk = fmt.public_jwk(key)
    return PublicKeyOut(kid=jwk["kid"], alg=fmt.ALG, pem=fmt.public_pem(key), jwk=jwk)


@public.get("/credentials/revocations", response_model=RevocationListOut)
def revocations(request: Request, session: SessionDep) -> RevocationListOut:
    """The signed revocation list, with its issued time and when the next one is due."""
    signed = _svc(request, session).revocation_list()
    return RevocationListOut(
        revocation_list=signed.token,
        issued_at=signed.issued_at,
        next_update=signed.next_update,
        count=signed.count,
    )


# locks ------------------------------------------------------------------------------------------
@public.get("/persons/{person_id}/locks", response_model=LocksOut)
def get_locks(person_id: uuid.UUID, principal: Caller, session: SessionDep) -> LocksOut:
    locks = LockService(session).locks(person_id, principal)
    return LocksOut(person_id=person_id, locks=locks, available=LOCKS)


@public.put("/persons/{person_id}/locks/{lock}", response_model=LocksOut)
def set_lock(person_id: uuid.UUID, lock: str, principal: Caller, session: SessionDep) -> LocksOut:
    """Set a lock on the person's own record (audited)."""
    locks = LockService(session).set_lock(person_id, lock, principal)
    return LocksOut(person_id=person_id, locks=locks, available=LOCKS)


@public.delete("/persons/{person_id}/locks/{lock}", response_model=LocksOut)
def clear_lock(person_id: uuid.UUID, lock: str, principal: Caller, session: SessionDep) -> LocksOut:
    """Clear a lock (audited)."""
    locks = LockService(session).clear_lock(person_id, lock, principal)
    return LocksOut(person_id=person_id, locks=locks, available=LOCKS)

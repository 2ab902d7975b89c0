"""Assisted digital: a caseworker issues, prints or revokes a person's credential for them.

For a person who cannot use "View and manage your immigration data" themselves. The
credential service lets a caseworker act for the person; everything is audited as theirs.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shareguard.agreements.catalogue import PURPOSES
from shareguard.credentials.service import MAX_DAYS, CredentialService
from shareguard.errors import Conflict, InvalidInput, NotFound, Refused
from shareguard.status.service import SHARE_CODE_PURPOSES, StatusService
from shareguard.storage.base import utcnow
from shareguard.storage.db import settle
from shareguard.web.console.credentials import credential_view
from shareguard.web.console.person import purpose_items
from shareguard.web.console.render import render
from shareguard.web.console.security import Caseworker, ConsoleUser, Form, field, flash, load_user
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

#: Why a caseworker revokes, in the service's codes.
REVOKE_REASONS = {
    "person_request": "The person asked for it to be revoked",
    "lost": "The person has lost it, or someone else may have it",
    "issued_in_error": "It was issued in error",
}


def _svc(request: Request, session: Any) -> CredentialService:
    return CredentialService(session, request.app.state.settings)


def _page(
    request: Request,
    session: Any,
    user: ConsoleUser,
    person_id: uuid.UUID,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    selected: str = "",
) -> Response:
    person = StatusService(session).person(person_id)
    now = utcnow()
    rows = [
        credential_view(r, now)
        for r in _svc(request, session).for_person(person_id, user.principal)
    ]
    name = person.primary_name()
    return render(
        request,
        "console/assisted_credentials.html",
        status_code=status_code,
        title="Digital status credentials",
        person=person,
        name=name.full if name else "",
        rows=rows,
        errors=errors or {},
        items=purpose_items(selected),
        reasons=[{"value": k, "text": v} for k, v in REVOKE_REASONS.items()],
        max_days=MAX_DAYS,
    )


@router.get("/casework/people/{person_id}/credentials", response_class=HTMLResponse)
def credentials(
    person_id: uuid.UUID, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    return _page(request, session, user, person_id)


@router.post("/casework/people/{person_id}/credentials", response_class=HTMLResponse)
def issue(
    person_id: uuid.UUID, request: Request, form: Form, user: Caseworker, session: SessionDep
) -> Response:
    purpose = field(form, "purpose")
    if purpose not in SHARE_CODE_PURPOSES:
        return _page(
            request,
            session,
            user,
            person_id,
            422,
            {"purpose": "Select what the person needs to prove"},
        )
    try:
        row = _svc(request, session).issue(person_id, purpose, user.principal)
    except (Conflict, InvalidInput, Refused) as exc:
        settle(session, exc)
        message = exc.detail[:1].upper() + exc.detail[1:]
        return _page(request, session, user, person_id, 409, {"purpose": message}, purpose)
    flash(
        request,
        f"Credential issued: {PURPOSES[purpose].title}",
        "Print it and give or post it to the person. It is in their account too.",
    )
    return RedirectResponse(
        f"/casework/people/{person_id}/credentials#credential-{row.id}", status_code=303
    )


def _own(
    request: Request,
    session: Any,
    user: ConsoleUser,
    person_id: uuid.UUID,
    credential_id: uuid.UUID,
) -> Any:
    """The credential, if it is this person's (a 404 otherwise, never a hint)."""
    row = _svc(request, session).get(credential_id, user.principal)
    if row.person_id != person_id:
        raise NotFound(f"credential {credential_id} not found")
    return row


@router.get(
    "/casework/people/{person_id}/credentials/{credential_id}/print", response_class=HTMLResponse
)
def printable(
    person_id: uuid.UUID,
    credential_id: uuid.UUID,
    request: Request,
    user: Caseworker,
    session: SessionDep,
) -> Response:
    """The service's own printable page: the facts, the QR code and how a checker verifies it."""
    row = _own(request, session, user, person_id, credential_id)
    return HTMLResponse(_svc(request, session).page(row), headers={"Cache-Control": "no-store"})


@router.post(
    "/casework/people/{person_id}/credentials/{credential_id}/revoke", response_class=HTMLResponse
)
def revoke(
    person_id: uuid.UUID,
    credential_id: uuid.UUID,
    request: Request,
    form: Form,
    user: Caseworker,
    session: SessionDep,
) -> Response:
    row = _own(request, session, user, person_id, credential_id)
    reason = field(form, "reason")
    if reason not in REVOKE_REASONS:
        errors = {f"reason-{row.id}": "Select why the credential is being revoked"}
        return _page(request, session, user, person_id, 422, errors)
    _svc(request, session).revoke(row.id, user.principal, reason)  # a second revoke is a no-op
    flash(request, "Credential revoked", "Online checks of it now say it has been revoked.")
    return RedirectResponse(f"/casework/people/{person_id}/credentials", status_code=303)

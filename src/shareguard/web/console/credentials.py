"""Credential and lock pages: the person's own credentials and locks, and a checker's verify page.

The person (under /my/, signed in to the person-facing service) gets, downloads, prints and
revokes their digital status credentials and locks or unlocks checks by name and date of birth.
A partner user checks a credential online at /credentials/verify (audited by the service).
The services decide who may act: another person's credential id is a 404 page.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.credentials import format as fmt
from shareguard.credentials import qr
from shareguard.credentials.models import Credential
from shareguard.credentials.present import credential_file
from shareguard.credentials.service import MAX_DAYS, CredentialService, LockService
from shareguard.errors import Conflict, InvalidInput, Refused
from shareguard.status.service import SHARE_CODE_PURPOSES
from shareguard.storage.base import utcnow
from shareguard.storage.db import settle
from shareguard.web.console.person import Me, page, purpose_items
from shareguard.web.console.render import render
from shareguard.web.console.security import Form, Partner, field, flash
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False)

LOCK = "attribute_checks"
#: Why the person is revoking, in their words; the service keeps only the code.
REVOKE_REASONS = {
    "lost": "I have lost it, or someone else may have it",
    "person_request": "I no longer need it",
}
#: Largest credential file we read: a credential is ~1,200 characters, its printable page ~40 KB.
MAX_UPLOAD = 200_000
MAX_TEXT = 20_000
RESULT_TITLES = {
    "valid": "Valid",
    "revoked": "Revoked",
    "expired": "Expired",
    "not_yet_valid": "Not valid yet",
}
NOT_GENUINE = "Not genuine"
VALUES = {"yes": "Yes", "no": "No", "yes_with_conditions": "Yes, with conditions"}
#: Shorter labels than the catalogue's where the catalogue explains the values.
TITLES = {"may_work": "May work", "valid_until": "Status valid until"}


def _svc(request: Request, session: Any) -> CredentialService:
    return CredentialService(session, request.app.state.settings)


def _state(row: Credential, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if _aware(row.valid_until) < now else "valid"


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def credential_view(row: Credential, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "purpose": PURPOSES[row.purpose],
        "issued_at": _aware(row.issued_at),
        "valid_until": _aware(row.valid_until),
        "revoked_at": _aware(row.revoked_at) if row.revoked_at else None,
        "state": _state(row, now),
    }


# the person's credentials -------------------------------------------------------------------
def _list(
    request: Request,
    me: Any,
    session: Any,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    selected: str = "",
) -> Response:
    now = utcnow()
    rows = [credential_view(r, now) for r in _svc(request, session).for_person(me.person_id, me)]
    return page(
        request,
        "my/credential_list.html",
        status_code=status_code,
        title="Your digital status credentials",
        rows=rows,
        errors=errors or {},
        items=purpose_items(selected),
        max_days=MAX_DAYS,
    )


@router.get("/my/credentials", response_class=HTMLResponse)
def credentials(request: Request, me: Me, session: SessionDep) -> Response:
    return _list(request, me, session)


@router.post("/my/credentials", response_class=HTMLResponse)
def get_credential(request: Request, form: Form, me: Me, session: SessionDep) -> Response:
    assert me.person_id is not None
    purpose = field(form, "purpose")
    if purpose not in SHARE_CODE_PURPOSES:
        return _list(request, me, session, 422, {"purpose": "Select what you need to prove"})
    try:
        row = _svc(request, session).issue(me.person_id, purpose, me)
    except (Conflict, InvalidInput) as exc:
        settle(session, exc)
        # The service's words are for staff; the person gets what to do next.
        message = (
            f"We cannot give you a credential for {PURPOSES[purpose].title.lower()} because "
            "your current status does not confirm it. Contact the Home Office if you think "
            "this is wrong"
        )
        return _list(request, me, session, 409, {"purpose": message}, purpose)
    except Refused as exc:
        settle(session, exc)
        message = (
            "We cannot give you a credential at the moment. Try again later, or use a "
            "share code instead"
        )
        return _list(request, me, session, 409, {"purpose": message}, purpose)
    request.session["new_credential"] = str(row.id)
    return RedirectResponse(f"/my/credentials/{row.id}", status_code=303)


@router.get("/my/credentials/{credential_id:uuid}", response_class=HTMLResponse)
def credential(credential_id: uuid.UUID, request: Request, me: Me, session: SessionDep) -> Response:
    row = _svc(request, session).get(credential_id, me)
    just_issued = request.session.pop("new_credential", None) == str(row.id)
    view = credential_view(row, utcnow())
    return page(
        request,
        "my/credential_detail.html",
        title="Your credential is ready" if just_issued else f"Credential: {view['purpose'].title}",
        credential=view,
        just_issued=just_issued,
        qr_svg=qr.qr_svg(row.token, scale=3) if view["state"] == "valid" else None,
    )


@router.get("/my/credentials/{credential_id:uuid}.jwt")
def download(credential_id: uuid.UUID, request: Request, me: Me, session: SessionDep) -> Response:
    return credential_file(_svc(request, session).get(credential_id, me))


@router.get("/my/credentials/{credential_id:uuid}/print", response_class=HTMLResponse)
def printable(credential_id: uuid.UUID, request: Request, me: Me, session: SessionDep) -> Response:
    """The service's own printable page: the facts, the QR code and how a checker verifies it."""
    svc = _svc(request, session)
    return HTMLResponse(svc.page(svc.get(credential_id, me)), headers={"Cache-Control": "no-store"})


def _revoke_page(
    request: Request,
    row: Credential,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        "my/credential_revoke.html",
        status_code=status_code,
        title="Are you sure you want to revoke this credential?",
        credential=credential_view(row, utcnow()),
        errors=errors or {},
        reasons=[{"value": k, "text": v} for k, v in REVOKE_REASONS.items()],
    )


@router.get("/my/credentials/{credential_id:uuid}/revoke", response_class=HTMLResponse)
def revoke_form(
    credential_id: uuid.UUID, request: Request, me: Me, session: SessionDep
) -> Response:
    row = _svc(request, session).get(credential_id, me)
    if row.revoked_at is not None:
        return RedirectResponse(f"/my/credentials/{row.id}", status_code=303)
    return _revoke_page(request, row)


@router.post("/my/credentials/{credential_id:uuid}/revoke", response_class=HTMLResponse)
def revoke(
    credential_id: uuid.UUID, request: Request, form: Form, me: Me, session: SessionDep
) -> Response:
    svc = _svc(request, session)
    row = svc.get(credential_id, me)
    reason = field(form, "reason")
    if reason not in REVOKE_REASONS:
        errors = {"reason": "Select why you want to revoke this credential"}
        return _revoke_page(request, row, 422, errors)
    svc.revoke(row.id, me, reason)
    return RedirectResponse(f"/my/credentials/{row.id}/revoked", status_code=303)


@router.get("/my/credentials/{credential_id:uuid}/revoked", response_class=HTMLResponse)
def revoked(credential_id: uuid.UUID, request: Request, me: Me, session: SessionDep) -> Response:
    row = _svc(request, session).get(credential_id, me)
    if row.revoked_at is None:
        return RedirectResponse(f"/my/credentials/{row.id}", status_code=303)
    return page(
        request,
        "my/credential_revoked.html",
        title="Credential revoked",
        credential=credential_view(row, utcnow()),
    )


# the person's locks -------------------------------------------------------------------------
def _locks_page(
    request: Request,
    locked: bool,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        "my/locks.html",
        status_code=status_code,
        title="Lock checks by name and date of birth",
        locked=locked,
        errors=errors or {},
    )


@router.get("/my/locks", response_class=HTMLResponse)
def locks(request: Request, me: Me, session: SessionDep) -> Response:
    assert me.person_id is not None
    return _locks_page(request, LOCK in LockService(session).locks(me.person_id, me))


@router.post("/my/locks", response_class=HTMLResponse)
def change_lock(request: Request, form: Form, me: Me, session: SessionDep) -> Response:
    assert me.person_id is not None
    service = LockService(session)
    choice = field(form, "lock")
    if choice not in ("on", "off"):
        locked = LOCK in service.locks(me.person_id, me)
        errors = {"lock": "Select whether to lock checks by name and date of birth"}
        return _locks_page(request, locked, 422, errors)
    if choice == "on":
        service.set_lock(me.person_id, LOCK, me)
        flash(
            request,
            "Checks by name and date of birth are locked",
            "Organisations the law does not require to check can no longer check you by your "
            "details. Share codes you give still work.",
        )
    else:
        service.clear_lock(me.person_id, LOCK, me)
        flash(
            request,
            "Checks by name and date of birth are unlocked",
            "Organisations with an agreement can check you by your details again.",
        )
    return RedirectResponse("/my/locks", status_code=303)


# the checker's verify page ------------------------------------------------------------------
def _verify_form(
    request: Request,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    text: str = "",
) -> Response:
    return render(
        request,
        "console/credential_verify.html",
        status_code=status_code,
        title="Check a digital status credential",
        errors=errors or {},
        text=text,
    )


@router.get("/credentials/verify", response_class=HTMLResponse)
def verify_form(request: Request, user: Partner) -> Response:
    return _verify_form(request)


async def _upload(form: Any) -> tuple[bytes | None, str]:
    """The uploaded file's bytes (None when no file was chosen) and an error, if any."""
    upload = form.get("credential_file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None, ""
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return None, "The credential file must be smaller than 200 KB"
    if not data.strip():
        return None, "The credential file is empty. Choose the .jwt file the person gave you"
    return data, ""


def _token(raw: str | bytes) -> str | None:
    try:
        return fmt.extract_token(raw)
    except InvalidInput:
        return None


@router.post("/credentials/verify", response_class=HTMLResponse)
async def verify(request: Request, form: Form, user: Partner, session: SessionDep) -> Response:
    text = field(form, "credential")
    data, file_error = await _upload(form)
    errors: dict[str, str] = {}
    if file_error:
        errors["credential_file"] = file_error
    elif len(text) > MAX_TEXT:
        errors["credential"] = "The credential text must be 20,000 characters or fewer"
    elif not text and data is None:
        errors["credential"] = "Paste the credential text or choose the credential file"
    tokens = {
        name: _token(raw) for name, raw in (("credential", text), ("credential_file", data)) if raw
    }
    if not errors:
        found = {t for t in tokens.values() if t}
        if not found:
            for name in tokens:
                errors[name] = (
                    "The text you pasted is not a credential. Paste all of the text from the "
                    "file or the QR code"
                    if name == "credential"
                    else "The file you chose is not a credential. Choose the .jwt file "
                    "the person gave you"
                )
        elif len(found) > 1:
            errors["credential"] = (
                "The text you pasted and the file you chose are different credentials. "
                "Give only one of them"
            )
    if errors:
        return _verify_form(request, 422, errors, text)
    token = next(t for t in tokens.values() if t)
    checked_at = utcnow()
    try:
        result = _svc(request, session).verify_online(token, user.principal, at=checked_at)
    except InvalidInput as exc:
        settle(session, exc)
        errors = {"credential": "This is not a credential. Paste all of the text again"}
        return _verify_form(request, 422, errors, text)
    purpose = PURPOSES.get(result.purpose or "")
    subject = dict(result.subject or {}) if result.valid else {}
    return render(
        request,
        "console/credential_result.html",
        title=f"Credential check: {RESULT_TITLES.get(result.code, NOT_GENUINE)}",
        result=result,
        outcome=RESULT_TITLES.get(result.code, NOT_GENUINE),
        genuine=result.code in RESULT_TITLES,
        purpose=purpose,
        summary=_summary(subject, purpose.answer_shape if purpose else ()),
        checked_at=checked_at,
        organisation=user.organisation,
    )


def _summary(subject: dict[str, Any], order: tuple[str, ...]) -> list[dict[str, str]]:
    """The holder's status as the credential states it, in the purpose's answer-shape order."""
    rows = []
    ranked = sorted(subject.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    for key, value in ranked:
        if key == "valid_until" and not value:
            value = "No end date"
        if key in ("purpose", "question") or value in (None, "", {}):
            continue
        title = TITLES.get(key) or (
            DATA_ITEMS[key].title if key in DATA_ITEMS else key.replace("_", " ").capitalize()
        )
        rows.append({"title": title, "value": _value(value)})
    return rows


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in value.items())
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            day = datetime.fromisoformat(text).date()
        except ValueError:
            return text
        return f"{day.day} {day:%B %Y}"
    return VALUES.get(text, text)

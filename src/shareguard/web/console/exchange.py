"""The door's other way in the console: requests to partners, their inbox and answers, files
partners send in, the caseworkers' queue of unverified information, and refused requests."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile

from shareguard.accounts.models import Organisation
from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.models import Agreement
from shareguard.agreements.service import AgreementService
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound, Refused
from shareguard.exchange import InboundService, RequestService
from shareguard.exchange.models import ExchangeRequest
from shareguard.matching import FileRejected
from shareguard.status import StatusService
from shareguard.storage.base import today
from shareguard.storage.db import settle
from shareguard.web.console.paging import Paging
from shareguard.web.console.render import render
from shareguard.web.console.security import (
    Caseworker,
    ConsoleUser,
    Form,
    OfficerOrAuditor,
    Partner,
    field,
    flash,
    load_user,
)
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

DRAFT = "request_draft"
STATES = {
    "open": ("Waiting for an answer", "blue"),
    "answered": ("Answered", "green"),
    "not_held": ("Not held", "grey"),
    "declined": ("Refused by the partner", "orange"),
    "refused": ("Refused before sending", "red"),
    "answer_refused": ("Answer refused", "red"),
    "unverified": ("Unverified", "yellow"),
    "proposed": ("Waiting for a second caseworker", "blue"),
    "verified": ("Verified", "green"),
    "dismissed": ("Dismissed", "grey"),
}
KIND_TITLES = {
    "firewall": "Firewall rule",
    "pause": "Pause",
    "lock": "The person's lock",
    "limit": "Daily limit",
    "agreement_state": "Agreement not in force",
    "no_agreement": "Not covered by the agreement",
    "key_scope": "Outside the key's agreements",
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _item_title(code: str) -> str:
    return DATA_ITEMS[code].title if code in DATA_ITEMS else code.replace("_", " ")


def _org_names(session: Any) -> dict[uuid.UUID, str]:
    return {i: n for i, n in session.execute(select(Organisation.id, Organisation.name))}


def _ref(session: Any, agreement_id: uuid.UUID) -> str:
    a = session.get(Agreement, agreement_id)
    return a.reference if a else "?"


def _requestable(session: Any, user: ConsoleUser) -> list[Agreement]:
    """In-force agreements under which the user's organisation receives from a partner."""
    on = today()
    return [
        a
        for a in AgreementService(session).for_organisation(user.organisation_id)
        if a.in_force(on)
        and user.organisation_id in a.recipients()
        and user.organisation_id not in a.disclosers()
    ]


def _sendable(session: Any, user: ConsoleUser) -> list[Agreement]:
    """In-force agreements under which the user's organisation sends to the Home Office."""
    on = today()
    return [
        a
        for a in AgreementService(session).for_organisation(user.organisation_id)
        if a.in_force(on) and user.organisation_id in a.disclosers()
    ]


# caseworkers: asking a partner -------------------------------------------------------------
@router.get("/casework/requests", response_class=HTMLResponse)
def requests_list(request: Request, user: Caseworker, session: SessionDep) -> Response:
    svc = RequestService(session)
    page = Paging.of(request).with_total(svc.count(user.principal))
    rows = svc.find(user.principal, limit=page.size, offset=page.offset)
    names = _org_names(session)
    return render(
        request,
        "console/exchange_requests.html",
        title="Requests to partners",
        rows=[_request_row(session, r, names) for r in rows],
        states=STATES,
        page=page.context(request),
    )


def _request_row(session: Any, r: ExchangeRequest, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": r.id,
        "reference": r.reference,
        "agreement": _ref(session, r.agreement_id),
        "partner": names.get(r.partner_org_id, "?"),
        "item_titles": ", ".join(_item_title(i) for i in r.data_items),
        "state": r.state,
        "created_at": r.created_at,
        "deadline": r.deadline,
        "reason": r.decision_reason,
        "kind": KIND_TITLES.get(r.decision_kind, r.decision_kind),
    }


def _request_form(
    request: Request,
    session: Any,
    user: ConsoleUser,
    values: dict[str, Any],
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    names = _org_names(session)
    agreements = _requestable(session, user)
    items = sorted({i for a in agreements for i in a.data_items}, key=list(DATA_ITEMS).index)
    person = None
    pid = _uuid_or_none(values.get("person", ""))
    if pid is not None:
        try:
            person = StatusService(session).person(pid)
        except NotFound:
            person = None
    return render(
        request,
        "console/exchange_request_new.html",
        status_code=status_code,
        title="Ask a partner for information",
        errors=errors or {},
        values=values,
        person=person,
        agreement_items=[
            {
                "value": a.reference,
                "text": f"{a.reference}: {a.title}",
                "hint": {
                    "text": "From "
                    + ", ".join(names.get(o, "?") for o in a.disclosers())
                    + ". Items: "
                    + ", ".join(_item_title(i) for i in a.data_items)
                },
                "checked": values.get("agreement") == a.reference,
            }
            for a in agreements
        ],
        data_items=[
            {"value": i, "text": _item_title(i), "checked": i in values.get("items", [])}
            for i in items
        ],
    )


def _shown(identifiers: dict[str, Any]) -> dict[str, Any]:
    """The person's name and date of birth, with the date as a date for the page."""
    return {**identifiers, "date_of_birth": date.fromisoformat(identifiers["date_of_birth"])}


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text).strip())
    except ValueError:
        return None


def _read_request(
    session: Any, user: ConsoleUser, values: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The request's answers checked as far as the page can; the service checks the rest."""
    errors: dict[str, str] = {}
    refs = {a.reference: a for a in _requestable(session, user)}
    agreement = refs.get(values.get("agreement", ""))
    if agreement is None:
        errors["agreement"] = "Choose the agreement to ask under"
    pid = _uuid_or_none(values.get("person", ""))
    if pid is None:
        errors["person"] = "Enter the person's reference from their record"
    else:
        try:
            StatusService(session).person(pid)
        except NotFound:
            errors["person"] = "There is no person with this reference"
    items = [i for i in values.get("items", []) if i in DATA_ITEMS]
    if not items:
        errors["items"] = "Choose the information you need"
    elif agreement is not None:
        outside = [i for i in items if i not in agreement.data_items]
        if outside:
            errors["items"] = f"Agreement {agreement.reference} does not cover: " + ", ".join(
                _item_title(i).lower() for i in outside
            )
    if not str(values.get("reason", "")).strip():
        errors["reason"] = "Say why you need this information"
    elif len(values["reason"]) > 2000:
        errors["reason"] = "The reason must be 2,000 characters or fewer"
    if len(str(values.get("proportionality", ""))) > 2000:
        errors["proportionality"] = "The note must be 2,000 characters or fewer"
    if errors or agreement is None or pid is None:
        return None, errors
    return {
        "agreement": agreement,
        "person_id": pid,
        "items": items,
        "reason": values["reason"].strip(),
        "proportionality": str(values.get("proportionality", "")).strip(),
    }, {}


def _values(form: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: (field(form, k)) for k in ("agreement", "person", "reason", "proportionality")
    }
    out["items"] = [v for v in form.getlist("items") if isinstance(v, str) and v]
    return out


@router.get("/casework/requests/new", response_class=HTMLResponse)
def request_new(request: Request, user: Caseworker, session: SessionDep) -> Response:
    draft = request.session.get(DRAFT)
    values = dict(draft) if isinstance(draft, dict) else {}
    if request.query_params.get("person"):
        values = {"person": request.query_params["person"]}
    return _request_form(request, session, user, values)


@router.post("/casework/requests/new", response_class=HTMLResponse)
def request_answers(
    request: Request, form: Form, user: Caseworker, session: SessionDep
) -> Response:
    values = _values(form)
    data, errors = _read_request(session, user, values)
    if data is None:
        return _request_form(request, session, user, values, 422, errors)
    request.session[DRAFT] = values
    return RedirectResponse("/casework/requests/check", status_code=303)


@router.get("/casework/requests/check", response_class=HTMLResponse)
def request_check(request: Request, user: Caseworker, session: SessionDep) -> Response:
    draft = request.session.get(DRAFT)
    values = dict(draft) if isinstance(draft, dict) else {}
    data, _ = _read_request(session, user, values)
    if data is None:
        return RedirectResponse("/casework/requests/new", status_code=303)
    agreement = data["agreement"]
    names = _org_names(session)
    person = StatusService(session).person(data["person_id"])
    name = person.names[0] if person.names else None
    rows = [
        ("agreement", "Agreement", f"{agreement.reference}: {agreement.title}"),
        ("agreement", "Partner", ", ".join(names.get(o, "?") for o in agreement.disclosers())),
        (
            "person",
            "Person",
            f"{name.given} {name.family}" if name else str(person.id),
        ),
        ("items", "Information asked for", ", ".join(_item_title(i) for i in data["items"])),
        ("reason", "Why you need it", data["reason"]),
        ("proportionality", "Why asking is proportionate", data["proportionality"] or "Not given"),
    ]
    purpose = PURPOSES[agreement.purposes[0]].title if agreement.purposes else ""
    return render(
        request,
        "console/exchange_request_check.html",
        title="Check your request before it is sent",
        rows=rows,
        purpose=purpose,
        partner_sees=["Name", "Date of birth", "The information asked for", "Your reason"],
    )


@router.post("/casework/requests/check", response_class=HTMLResponse)
def request_send(request: Request, form: Form, user: Caseworker, session: SessionDep) -> Response:
    draft = request.session.get(DRAFT)
    values = dict(draft) if isinstance(draft, dict) else {}
    data, errors = _read_request(session, user, values)
    if data is None:
        return _request_form(request, session, user, values, 422, errors)
    try:
        row = RequestService(session).create(
            user.principal,
            agreement=data["agreement"].id,
            person_id=data["person_id"],
            reason=data["reason"],
            proportionality=data["proportionality"],
            data_items=data["items"],
        )
    except InvalidInput as exc:
        settle(session, exc)
        key = {"data_items": "items", "person_id": "person"}.get(exc.field or "", "agreement")
        if (exc.field or "").startswith("data_items"):
            key = "items"
        return _request_form(request, session, user, values, 422, {key: _sentence(exc.detail)})
    except Refused as exc:
        settle(session, exc)
        request.session.pop(DRAFT, None)
        return render(
            request,
            "console/exchange_request_refused.html",
            status_code=403,
            title="Your request was refused",
            reason=exc.detail,
            kind=KIND_TITLES.get(str(exc.extra.get("kind", "")), ""),
            reference=exc.extra.get("reference"),
        )
    request.session.pop(DRAFT, None)
    flash(
        request,
        f"Request {row.reference} sent",
        f"The partner must answer by {row.deadline:%d %B %Y}." if row.deadline else "",
    )
    return RedirectResponse(f"/casework/requests/{row.id}", status_code=303)


@router.get("/casework/requests/{request_id}", response_class=HTMLResponse)
def request_detail(
    request_id: uuid.UUID, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    svc = RequestService(session)
    row = svc.get(request_id, user.principal)
    names = _org_names(session)
    return render(
        request,
        "console/exchange_request.html",
        title=f"Request {row.reference}",
        r=_request_row(session, row, names),
        row=row,
        person=_shown(svc.identifiers(row)),
        answer=[(_item_title(k), v) for k, v in (row.answer or {}).items()],
        dropped=row.dropped or [],
        states=STATES,
    )


# partners: the inbox ------------------------------------------------------------------------
@router.get("/requests", response_class=HTMLResponse)
def inbox(request: Request, user: Partner, session: SessionDep) -> Response:
    svc = RequestService(session)
    page = Paging.of(request).with_total(svc.count(user.principal))
    rows = svc.find(user.principal, limit=page.size, offset=page.offset)
    names = _org_names(session)
    out = [_request_row(session, r, names) for r in rows]
    return render(
        request,
        "console/exchange_inbox.html",
        title="Requests for information",
        rows=out,
        open_count=svc.count(user.principal, state="open"),
        states=STATES,
        page=page.context(request),
    )


def _answer_page(
    request: Request,
    session: Any,
    user: ConsoleUser,
    request_id: uuid.UUID,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    svc = RequestService(session)
    row = svc.get(request_id, user.principal)
    names = _org_names(session)
    return render(
        request,
        "console/exchange_answer.html",
        status_code=status_code,
        title=f"Request {row.reference}",
        r=_request_row(session, row, names),
        row=row,
        person=_shown(svc.identifiers(row)) if row.state == "open" else None,
        requester=names.get(row.requester_org_id, "the Home Office")
        if row.requester_org_id
        else "the Home Office",
        fields=[(i, _item_title(i)) for i in row.data_items],
        errors=errors or {},
        values=values or {},
        states=STATES,
    )


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def inbox_item(
    request_id: uuid.UUID, request: Request, user: Partner, session: SessionDep
) -> Response:
    return _answer_page(request, session, user, request_id)


@router.post("/requests/{request_id}", response_class=HTMLResponse)
def inbox_answer(
    request_id: uuid.UUID, request: Request, form: Form, user: Partner, session: SessionDep
) -> Response:
    row = RequestService(session).get(request_id, user.principal)
    outcome = field(form, "outcome")
    note = field(form, "note")
    values: dict[str, Any] = {"outcome": outcome, "note": note}
    data = {}
    for item in row.data_items:
        values[f"item-{item}"] = field(form, f"item-{item}")
        if values[f"item-{item}"]:
            data[item] = values[f"item-{item}"]
    errors: dict[str, str] = {}
    if outcome not in ("data", "not_held", "refused"):
        errors["outcome"] = "Choose how you answer"
    elif outcome == "data" and not data:
        errors[f"item-{row.data_items[0]}"] = "Enter the information you hold"
    elif outcome == "refused" and not note:
        errors["note"] = "Say why you refuse to answer"
    if errors:
        return _answer_page(request, session, user, request_id, 422, errors, values)
    try:
        RequestService(session).answer(
            request_id, user.principal, outcome=outcome, data=data or None, note=note
        )
    except (InvalidInput, Conflict) as exc:
        settle(session, exc)
        key = "outcome"
        if exc.field and exc.field.startswith("data."):
            key = f"item-{exc.field[5:]}"
        elif exc.field == "note":
            key = "note"
        return _answer_page(
            request, session, user, request_id, 422, {key: _sentence(exc.detail)}, values
        )
    except Refused as exc:
        settle(session, exc)
        return render(
            request,
            "console/exchange_request_refused.html",
            status_code=403,
            title="Your answer was refused",
            reason=exc.detail,
            kind=KIND_TITLES.get(str(exc.extra.get("kind", "")), ""),
            reference=row.reference,
            partner=True,
        )
    titles = {"data": "answered", "not_held": "answered: not held", "refused": "refused"}
    flash(
        request,
        f"Request {row.reference} {titles[outcome]}",
        "Only the information the agreement covers was kept; anything else you sent was "
        "dropped and the audit log names it."
        if outcome == "data"
        else "",
    )
    return RedirectResponse("/requests", status_code=303)


# partners: sending data ---------------------------------------------------------------------
def _upload_page(
    request: Request,
    session: Any,
    user: ConsoleUser,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    file_errors: list[dict[str, Any]] | None = None,
) -> Response:
    values = values or {}
    return render(
        request,
        "console/exchange_upload.html",
        status_code=status_code,
        title="Send a file of records",
        errors=errors or {},
        values=values,
        file_errors=file_errors or [],
        agreement_items=[
            {
                "value": a.reference,
                "text": f"{a.reference}: {a.title}",
                "hint": {"text": "Items: " + ", ".join(_item_title(i) for i in a.data_items)},
                "checked": values.get("agreement") == a.reference,
            }
            for a in _sendable(session, user)
        ],
        batches=InboundService(session).batches(user.principal, limit=20),
    )


@router.get("/inbound/new", response_class=HTMLResponse)
def upload_form(request: Request, user: Partner, session: SessionDep) -> Response:
    return _upload_page(request, session, user, values={"mode": "quarantine"})


@router.post("/inbound/new", response_class=HTMLResponse)
def upload(request: Request, form: Form, user: Partner, session: SessionDep) -> Response:
    values = {"agreement": field(form, "agreement"), "mode": field(form, "mode") or "reject"}
    errors: dict[str, str] = {}
    refs = {a.reference for a in _sendable(session, user)}
    if values["agreement"] not in refs:
        errors["agreement"] = "Choose the agreement you send under"
    if values["mode"] not in ("reject", "quarantine"):
        errors["mode"] = "Choose what happens to rows with mistakes"
    upload = form.get("file")
    name = upload.filename if isinstance(upload, UploadFile) and upload.filename else ""
    suffix = Path(name).suffix.lower()
    if not name:
        errors["file"] = "Choose a CSV or Parquet file"
    elif suffix not in (".csv", ".parquet"):
        errors["file"] = "The file must be a CSV or Parquet file"
    if errors or not isinstance(upload, UploadFile):
        return _upload_page(request, session, user, 422, errors, values)
    with tempfile.TemporaryDirectory(prefix="shareguard-inbound-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with path.open("wb") as fh:
            shutil.copyfileobj(upload.file, fh)
        try:
            done = InboundService(session).submit_file(
                user.principal, path, agreement=values["agreement"], mode=values["mode"], name=name
            )
        except FileRejected as exc:
            settle(session, exc)
            return _upload_page(
                request,
                session,
                user,
                422,
                {"file": f"{exc.detail.split(' ')[0]} row(s) with mistakes: nothing was sent"},
                values,
                list(exc.extra.get("errors", [])),
            )
        except InvalidInput as exc:
            settle(session, exc)
            key = "agreement" if exc.field == "agreement" else "file"
            return _upload_page(request, session, user, 422, {key: _sentence(exc.detail)}, values)
    return RedirectResponse(f"/inbound/submissions/{done.batch.id}", status_code=303)


@router.get("/inbound/submissions/{batch_id}", response_class=HTMLResponse)
def submission(
    batch_id: uuid.UUID, request: Request, user: Partner, session: SessionDep
) -> Response:
    batch = InboundService(session).batch(batch_id, user.principal)
    return render(
        request,
        "console/exchange_submission.html",
        title=f"Submission {batch.reference}",
        batch=batch,
        agreement=_ref(session, batch.agreement_id),
        kinds=KIND_TITLES,
    )


# caseworkers: unverified information ---------------------------------------------------------
@router.get("/casework/inbound", response_class=HTMLResponse)
def inbound_queue(request: Request, user: Caseworker, session: SessionDep) -> Response:
    state = request.query_params.get("state", "unverified")
    if state not in ("unverified", "proposed", "verified", "dismissed"):
        state = "unverified"
    svc = InboundService(session)
    page = Paging.of(request).with_total(svc.count_records(user.principal, state=state))
    rows = svc.records(user.principal, state=state, limit=page.size, offset=page.offset)
    names = _org_names(session)
    return render(
        request,
        "console/exchange_inbound_queue.html",
        title="Information sent to the Home Office",
        state=state,
        states=STATES,
        page=page.context(request),
        rows=[
            {
                "id": r.id,
                "agreement": _ref(session, r.agreement_id),
                "from": names.get(r.discloser_org_id, "?"),
                "item_titles": ", ".join(_item_title(k) for k in r.data),
                "matched": r.person_id is not None,
                "findings": len(r.findings or []),
                "created_at": r.created_at,
            }
            for r in rows
        ],
    )


def _record_page(
    request: Request,
    session: Any,
    user: ConsoleUser,
    record_id: uuid.UUID,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    row = InboundService(session).get(record_id, user.principal)
    names = _org_names(session)
    return render(
        request,
        "console/exchange_inbound_record.html",
        status_code=status_code,
        title="Information sent to the Home Office",
        row=row,
        agreement=_ref(session, row.agreement_id),
        discloser=names.get(row.discloser_org_id, "?"),
        data=[(_item_title(k), v) for k, v in row.data.items()],
        states=STATES,
        errors=errors or {},
        mine=row.proposed_by == user.id,
    )


@router.get("/casework/inbound/{record_id}", response_class=HTMLResponse)
def inbound_record(
    record_id: uuid.UUID, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    return _record_page(request, session, user, record_id)


@router.post("/casework/inbound/{record_id}", response_class=HTMLResponse)
def inbound_decide(
    record_id: uuid.UUID, request: Request, form: Form, user: Caseworker, session: SessionDep
) -> Response:
    action = field(form, "action")
    note = field(form, "note")
    svc = InboundService(session)
    try:
        if action == "propose":
            svc.propose(record_id, user.principal, note)
            message = "Proposed as accurate: a second caseworker must verify it"
        elif action == "verify":
            svc.verify(record_id, user.principal)
            message = "Verified by a second caseworker"
        elif action == "dismiss":
            svc.dismiss(record_id, user.principal, note)
            message = "Dismissed"
        else:
            raise InvalidInput("choose what to do with the information", field="action")
    except (InvalidInput, Conflict, Forbidden) as exc:
        settle(session, exc)
        key = "note" if exc.field in ("reason", "note") else "action"
        return _record_page(request, session, user, record_id, 422, {key: _sentence(exc.detail)})
    flash(request, message)
    return RedirectResponse("/casework/inbound", status_code=303)


# officers: refused requests ------------------------------------------------------------------
@router.get("/governance/requests", response_class=HTMLResponse)
def refused_requests(request: Request, user: OfficerOrAuditor, session: SessionDep) -> Response:
    svc = RequestService(session)
    which = request.query_params.get("state", "refused")
    which = which if which in ("refused", "answer_refused") else "refused"
    counts = {s: svc.count(user.principal, state=s) for s in ("refused", "answer_refused")}
    page = Paging.of(request).with_total(counts[which])
    rows = svc.find(user.principal, state=which, limit=page.size, offset=page.offset)
    names = _org_names(session)
    return render(
        request,
        "console/exchange_refused.html",
        title="Refused requests",
        rows=[_request_row(session, r, names) for r in rows],
        escalated=[_request_row(session, r, names) for r in svc.escalations(user.principal)],
        states=STATES,
        which=which,
        counts=counts,
        page=page.context(request),
    )

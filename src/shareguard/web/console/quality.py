"""The data-quality queue: findings with their owners and due dates, resolving one, and a
governance officer giving a finding its owner and, if need be, a new due date."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shareguard.agreements.service import user_name
from shareguard.errors import Conflict, Forbidden, InvalidInput
from shareguard.quality.service import QualityService
from shareguard.storage.base import today
from shareguard.storage.db import settle
from shareguard.web.console.paging import Paging
from shareguard.web.console.render import render
from shareguard.web.console.security import (
    ConsoleUser,
    Form,
    Officer,
    QualityOwner,
    QualityReader,
    date_field,
    field,
    flash,
    load_user,
)
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

ROLE_NAMES = {
    "governance_officer": "governance officer",
    "caseworker": "caseworker",
    "reviewer": "reviewer",
}


def _roles(user: Any) -> list[str]:
    return [r for r in user.roles if r in ROLE_NAMES]


def _due(form: Any) -> tuple[date | None, bool]:
    """The due date, and whether anything was typed into it (empty means keep the current one)."""
    if not any(field(form, f"due-{p}") for p in ("day", "month", "year")):
        return None, False
    return date_field(form, "due"), True


def _page(
    request: Request,
    session: Any,
    user: ConsoleUser,
    finding_id: uuid.UUID,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    service = QualityService(session)
    f = service.finding(finding_id, user.principal)
    chosen = (values or {}).get("owner", str(f.owner_id or ""))
    owners = [{"value": "", "text": "Choose a person", "selected": not chosen}] + [
        {
            "value": str(u.id),
            "text": f"{u.display_name} ({', '.join(ROLE_NAMES.get(r, r) for r in _roles(u))})",
            "selected": chosen == str(u.id),
        }
        for u in service.owners(user.organisation_id)
    ]
    return render(
        request,
        "console/quality_assign.html",
        status_code=status_code,
        title="Assign a data-quality finding",
        finding=f,
        owner=user_name(session, f.owner_id) if f.owner_id else "Not assigned",
        owners=owners,
        errors=errors or {},
        values=values or {},
    )


@router.get("/governance/quality/{finding_id}/assign", response_class=HTMLResponse)
def assign_form(
    finding_id: uuid.UUID, request: Request, user: Officer, session: SessionDep
) -> Response:
    return _page(request, session, user, finding_id)


@router.post("/governance/quality/{finding_id}/assign", response_class=HTMLResponse)
def assign(
    finding_id: uuid.UUID, request: Request, form: Form, user: Officer, session: SessionDep
) -> Response:
    values = {k: field(form, k) for k in ("owner", "due-day", "due-month", "due-year")}
    errors: dict[str, str] = {}
    owner_id: uuid.UUID | None = None
    try:
        owner_id = uuid.UUID(values["owner"])
    except ValueError:
        errors["owner"] = "Select who should own this finding"
    due, typed = _due(form)
    if typed and due is None:
        errors["due"] = "Due date must be a real date, for example 27 3 2027"
    elif due is not None and due < today():
        errors["due"] = "Due date must be today or in the future"
    if errors or owner_id is None:
        return _page(request, session, user, finding_id, 422, errors, values)
    service = QualityService(session)
    try:
        row = service.assign(finding_id, owner_id, user.principal, due_date=due)
    except (InvalidInput, Conflict, Forbidden) as exc:
        settle(session, exc)
        key = {"owner_id": "owner", "due_date": "due"}.get(exc.field or "", "owner")
        errors[key] = exc.detail[:1].upper() + exc.detail[1:]
        status = 409 if isinstance(exc, Conflict) else 422
        return _page(request, session, user, finding_id, status, errors, values)
    name = user_name(session, owner_id)
    flash(
        request,
        "Finding assigned",
        f"{name} owns it now; it is due by {row.due_date.day} {row.due_date:%B %Y}.",
    )
    return RedirectResponse("/governance/quality", status_code=303)


# data-quality queue --------------------------------------------------------------------------
@router.get("/governance/quality", response_class=HTMLResponse)
def quality_queue(request: Request, user: QualityReader, session: SessionDep) -> Response:
    return _quality_page(request, user, session)


def _quality_page(
    request: Request,
    user: Any,
    session: Any,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    now = today()
    mine = request.query_params.get("owner") == "me"  # "assigned to me"
    service = QualityService(session)
    owner = user.id if mine else None
    page = Paging.of(request).with_total(service.count_findings(user.principal, owner_id=owner))
    names: dict[Any, str] = {}

    def owner_name(owner_id: Any) -> str:
        if owner_id not in names:
            names[owner_id] = user_name(session, owner_id)
        return names[owner_id]

    findings = [
        {
            "id": f.id,
            "rule": f.rule,
            "severity": f.severity,
            "message": f.message,
            "record": f"{f.record_kind} {f.record_id[:8]}",
            "owner": owner_name(f.owner_id) if f.owner_id else "Not assigned",
            "due_date": f.due_date,
            "overdue": f.due_date < now,
        }
        for f in service.findings(
            user.principal, owner_id=owner, limit=page.size, offset=page.offset
        )
    ]
    return render(
        request,
        "console/quality.html",
        status_code=status_code,
        title="Data-quality queue",
        findings=findings,
        errors=errors or {},
        officer=user.has("governance_officer"),
        resolver=user.has("governance_officer", "caseworker", "reviewer"),
        mine=mine,
        page=page.context(request),
    )


@router.post("/governance/quality/{finding_id}/resolve", response_class=HTMLResponse)
def resolve_finding(
    finding_id: uuid.UUID, request: Request, form: Form, user: QualityOwner, session: SessionDep
) -> Response:
    note = field(form, "resolution")
    try:
        QualityService(session).resolve(finding_id, user.principal, note)
    except (InvalidInput, Conflict) as exc:
        settle(session, exc)
        errors = {f"resolution-{finding_id}": exc.detail[:1].upper() + exc.detail[1:]}
        return _quality_page(request, user, session, 422, errors)
    flash(request, "Finding resolved", "Your note is kept with the finding.")
    return RedirectResponse("/governance/quality", status_code=303)

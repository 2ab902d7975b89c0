"""Partner pages: run a check (share code or attributes) and keep a printable result."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shareguard.agreements.catalogue import CHECK_METHODS, DATA_ITEMS, PURPOSES, SHARE_CODE_ONLY
from shareguard.agreements.service import AgreementService
from shareguard.checks import AttributeQuery, CheckService
from shareguard.corrections import NoticeService
from shareguard.errors import Conflict, InvalidInput, Refused
from shareguard.status.service import SHARE_CODE_PURPOSES
from shareguard.storage.base import today
from shareguard.storage.db import settle
from shareguard.web.console.paging import Paging
from shareguard.web.console.render import render
from shareguard.web.console.security import (
    ConsoleUser,
    Form,
    Partner,
    date_field,
    field,
    flash,
    load_user,
)
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

METHODS = CHECK_METHODS
OUTCOMES = {
    "confirmed": "Confirmed",
    "not_confirmed": "Not confirmed",
    "referred": "Referred to the Home Office",
    "no_match": "No match",
}
VALUES = {"yes": "Yes", "no": "No", "yes_with_conditions": "Yes, with conditions"}


def _purposes(session: Any, user: ConsoleUser) -> list[str]:
    """Purposes the partner's in-force agreements cover, in catalogue order."""
    on = today()
    held = {
        p
        for a in AgreementService(session).for_organisation(user.organisation_id)
        if a.in_force(on)
        for p in a.purposes
    }
    return [code for code in PURPOSES if code in held and not PURPOSES[code].enforcement]


def _form(
    request: Request,
    user: ConsoleUser,
    session: Any,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    values = values or {}
    purposes = _purposes(session, user)
    method = values.get("method", "share_code")
    return render(
        request,
        "console/check_new.html",
        status_code=status_code,
        title="Run a check",
        errors=errors or {},
        values=values,
        method=method,
        purpose_items=[{"value": "", "text": "Choose a purpose"}]
        + [
            {"value": p, "text": PURPOSES[p].title, "selected": p == values.get("purpose")}
            for p in purposes
        ],
        method_items=[{"value": k, "text": v, "checked": k == method} for k, v in METHODS.items()],
        share_code_purposes=[PURPOSES[p].title for p in purposes if p in SHARE_CODE_PURPOSES],
        share_code_only=[PURPOSES[p].title for p in purposes if p in SHARE_CODE_ONLY],
        has_purposes=bool(purposes),
    )


@router.get("/checks/new", response_class=HTMLResponse)
def new_check(request: Request, user: Partner, session: SessionDep) -> Response:
    method = request.query_params.get("method", "share_code")
    return _form(
        request,
        user,
        session,
        values={
            "method": method if method in METHODS else "share_code",
            "purpose": request.query_params.get("purpose", ""),
        },
    )


@router.post("/checks/new", response_class=HTMLResponse)
def run_check(request: Request, form: Form, user: Partner, session: SessionDep) -> Response:
    keys = (
        "purpose",
        "method",
        "code",
        "given",
        "family",
        "document",
        "dob-day",
        "dob-month",
        "dob-year",
    )
    values = {k: field(form, k) for k in keys}
    errors: dict[str, str] = {}
    method = values["method"] if values["method"] in METHODS else "share_code"
    values["method"] = method
    if values["purpose"] not in _purposes(session, user):
        errors["purpose"] = "Choose the purpose of the check"
    dob = date_field(form, "dob")
    if dob is None:
        errors["dob"] = "Enter the person's date of birth as a real date, for example 27 3 1990"
    if method == "share_code" and not values["code"]:
        errors["code"] = "Enter the share code the person gave you"
    if method == "attributes" and not values["family"]:
        errors["family"] = "Enter the person's family name"
    if errors or dob is None:
        return _form(request, user, session, 422, errors, values)
    service = CheckService(session)
    try:
        if method == "share_code":
            result = service.share_code_check(
                user.principal, values["code"], dob, values["purpose"]
            )
        else:
            result = service.attribute_check(
                user.principal,
                AttributeQuery(
                    purpose=values["purpose"],
                    given=values["given"],
                    family=values["family"],
                    date_of_birth=dob,
                    document_number=values["document"] or None,
                ),
            )
    except InvalidInput as exc:
        settle(session, exc)
        key = {"code": "code", "purpose": "purpose", "date_of_birth": "dob"}.get(
            exc.field or "", "purpose"
        )
        errors[key] = exc.detail[:1].upper() + exc.detail[1:]
        return _form(request, user, session, 422, errors, values)
    except Refused as exc:
        settle(session, exc)
        return render(
            request,
            "console/check_refused.html",
            status_code=403,
            title="This check was refused",
            reason=exc.detail,
        )
    answer = [
        {
            "title": DATA_ITEMS[k].title if k in DATA_ITEMS else k.replace("_", " ").capitalize(),
            "value": _value(v),
        }
        for k, v in (result.answer or {}).items()
        if v not in (None, "", {})
    ]
    check = result.check
    return render(
        request,
        "console/check_result.html",
        title=f"Check result: {OUTCOMES.get(check.outcome, check.outcome)}",
        check=check,
        outcome=check.outcome,
        outcome_title=OUTCOMES.get(check.outcome, check.outcome),
        purpose=PURPOSES[check.purpose],
        method=METHODS.get(check.method, check.method),
        answer=answer,
        contest=result.contest,
        case=result.case,
        organisation=user.organisation,
    )


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "Yes" if v else "No"
    if isinstance(v, dict):
        return ", ".join(f"{k.replace('_', ' ')}: {x}" for k, x in v.items())
    if isinstance(v, str) and len(v) == 10 and v[4] == "-" and v[7] == "-":
        try:
            d = date.fromisoformat(v)
            return f"{d.day} {d:%B %Y}"
        except ValueError:
            return v
    return VALUES.get(str(v), str(v))


@router.get("/checks", include_in_schema=False)
def checks_home(user: Partner) -> Response:
    return RedirectResponse("/checks/new", status_code=303)


# rectification notices ----------------------------------------------------------------------
@router.get("/notices", response_class=HTMLResponse)
def notices(request: Request, user: Partner, session: SessionDep) -> Response:

    svc = NoticeService(session)
    page = Paging.of(request).with_total(svc.count_notices(user.principal))
    rows = svc.notices(user.principal, limit=page.size, offset=page.offset)
    return render(
        request,
        "console/notices.html",
        title="Rectification notices",
        rows=rows,
        open_count=svc.count_notices(user.principal, open_only=True),
        page=page.context(request),
    )


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
def notice(
    notice_id: uuid.UUID,
    request: Request,
    user: Partner,
    session: SessionDep,
) -> Response:
    return _notice_page(request, user, session, notice_id)


def _notice_page(
    request: Request,
    user: ConsoleUser,
    session: Any,
    notice_id: uuid.UUID,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:

    row = NoticeService(session).notice(notice_id, user.principal)
    return render(
        request,
        "console/notice.html",
        status_code=status_code,
        title=f"Rectification notice {row.reference}",
        notice=row,
        errors=errors or {},
    )


@router.post("/notices/{notice_id}", response_class=HTMLResponse)
def acknowledge(
    notice_id: uuid.UUID, request: Request, form: Form, user: Partner, session: SessionDep
) -> Response:

    try:
        row = NoticeService(session).acknowledge(notice_id, user.principal, field(form, "note"))
    except (Conflict, InvalidInput) as exc:
        settle(session, exc)
        return _notice_page(
            request,
            user,
            session,
            notice_id,
            409,
            {"note": exc.detail[:1].upper() + exc.detail[1:]},
        )
    flash(
        request,
        f"Notice {row.reference} acknowledged",
        "The Home Office and the person can see that you have corrected your records.",
    )
    return RedirectResponse("/notices", status_code=303)

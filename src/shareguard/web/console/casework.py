"""Caseworker pages: person record with status timeline, record a status, referrals and contests."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from shareguard.accounts.service import AccountService
from shareguard.agreements.models import Agreement
from shareguard.agreements.service import user_name
from shareguard.audit.service import AuditService
from shareguard.checks import CaseService, CheckService
from shareguard.corrections import CorrectionService, NoticeService
from shareguard.corrections.service import disclosures_of
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.matching.models import EntryState
from shareguard.matching.watchlist import WatchlistService, explain
from shareguard.status.models import DecisionType, StatusKind
from shareguard.status.schemas import DecisionIn, StatusIn
from shareguard.status.service import StatusService
from shareguard.storage.db import settle
from shareguard.web.console.paging import Paging
from shareguard.web.console.person import OUTCOME_TITLES, STATUS_TITLES
from shareguard.web.console.render import render
from shareguard.web.console.security import Caseworker, Form, date_field, field, flash, load_user
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

RESOLUTIONS = {
    "confirmed": "Confirmed: the person has the right the check asked about",
    "not_confirmed": "Not confirmed: the person does not have that right",
    "no_record": "No record: we hold nothing about this person",
}


# people -----------------------------------------------------------------------------------
@router.get("/casework/people", response_class=HTMLResponse)
def people(request: Request, user: Caseworker, session: SessionDep) -> Response:
    """Recently registered people and the search form (searching is a POST)."""
    return _people(request, session, None)


@router.post("/casework/people", response_class=HTMLResponse)
def search_people(request: Request, form: Form, user: Caseworker, session: SessionDep) -> Response:
    """Search by name and date of birth. A POST, so the details never reach an access log."""
    return _people(request, session, form)


def _people(request: Request, session: Session, form: FormData | None) -> Response:
    service = StatusService(session)
    q = {
        k: field(form, k) if form is not None else ""
        for k in ("given", "family", "dob-day", "dob-month", "dob-year")
    }
    errors: dict[str, str] = {}
    searched = any(q.values())
    if searched and form is not None:
        dob = date_field(form, "dob")
        if not q["family"]:
            errors["family"] = "Enter a family name"
        if dob is None:
            errors["dob"] = "Enter a date of birth as a real date, for example 27 3 1990"
        found = service.candidates(q["given"], q["family"], dob) if not errors and dob else []
    else:
        found = service.list_persons(limit=25)
    rows = [
        {
            "id": p.id,
            "name": n.full if (n := p.primary_name()) else "(no name)",
            "dob": p.date_of_birth,
            "nationality": p.nationality,
        }
        for p in found
    ]
    return render(
        request,
        "console/people.html",
        status_code=422 if errors else 200,
        title="People",
        rows=rows,
        q=q,
        errors=errors,
        searched=searched,
    )


def _person_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("person not found") from None


@router.get("/casework/people/{person_id}", response_class=HTMLResponse)
def person_record(
    person_id: str, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    pid = _person_id(person_id)
    service = StatusService(session)
    person = service.person(pid)
    history = service.status_history(pid)
    replaced = {r.supersedes_id for r in history if r.supersedes_id}
    current = service.current_status(pid)
    timeline = [
        {
            "title": STATUS_TITLES.get(r.kind, r.kind),
            "at": r.recorded_at,
            "by": user_name(session, r.author_id),
            "valid_from": r.valid_from,
            "valid_to": r.valid_to,
            "reason": r.reason,
            "source": r.source,
            "evidence": r.evidence_ref,
            "superseded": r.id in replaced,
            "id": r.id,
            "current": current is not None and r.id == current.id,
        }
        for r in reversed(history)
    ]
    decisions = [
        {
            "type": d.type,
            "decided_on": d.decided_on,
            "appeal_state": d.appeal_state,
            "final": d.final,
            "overturned": d.overturned,
            "outcome": d.outcome,
        }
        for d in reversed(service.current_decisions(pid))
    ]
    cases = [
        c
        for c in CaseService(session).cases(user.principal, state=None, limit=500)
        if c.person_id == pid
    ]
    audit = AuditService(session, request.app.state.settings)
    access = audit.access_log(pid, user.principal)[-20:]
    return render(
        request,
        "console/person.html",
        title="Person record",
        person=person,
        names=person.names,
        current=current and STATUS_TITLES.get(current.kind, current.kind),
        timeline=timeline,
        decisions=decisions,
        cases=cases,
        access=list(reversed(access)),
        appeal=service.appeal_state(pid),
        outcome_titles=OUTCOME_TITLES,
    )


def _status_form(
    request: Request,
    person: Any,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    values = values or {}
    return render(
        request,
        "console/status_new.html",
        status_code=status_code,
        title="Record a status",
        person=person,
        errors=errors or {},
        values=values,
        kind_items=[
            {
                "value": k.value,
                "text": STATUS_TITLES[k.value],
                "checked": values.get("kind") == k.value,
            }
            for k in StatusKind
        ],
    )


@router.get("/casework/people/{person_id}/status", response_class=HTMLResponse)
def status_form(
    person_id: str, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    return _status_form(request, StatusService(session).person(_person_id(person_id)))


@router.post("/casework/people/{person_id}/status", response_class=HTMLResponse)
def record_status(
    person_id: str, request: Request, form: Form, user: Caseworker, session: SessionDep
) -> Response:
    pid = _person_id(person_id)
    service = StatusService(session)
    person = service.person(pid)
    keys = (
        "kind",
        "from-day",
        "from-month",
        "from-year",
        "to-day",
        "to-month",
        "to-year",
        "work_conditions",
        "source",
        "evidence_ref",
        "reason",
    )
    values = {k: field(form, k) for k in keys}
    for flag in ("may_work", "may_rent", "may_study", "public_funds"):
        values[flag] = "yes" if field(form, flag) else ""
    errors: dict[str, str] = {}
    if values["kind"] not in {k.value for k in StatusKind}:
        errors["kind"] = "Select the status"
    valid_from = date_field(form, "from")
    if valid_from is None:
        errors["from"] = "Enter the date the status starts as a real date"
    valid_to = date_field(form, "to")
    if valid_to is None and any(values[k] for k in ("to-day", "to-month", "to-year")):
        errors["to"] = "Enter the end date as a real date, or leave it empty"
    if not values["evidence_ref"]:
        errors["evidence_ref"] = "Enter the reference of the evidence for this status"
    if not errors:
        try:
            service.record_status(
                pid,
                StatusIn(
                    kind=StatusKind(values["kind"]),
                    valid_from=valid_from,
                    valid_to=valid_to,
                    may_work=bool(values["may_work"]),
                    work_conditions=values["work_conditions"],
                    may_rent=bool(values["may_rent"]),
                    may_study=bool(values["may_study"]),
                    public_funds=bool(values["public_funds"]),
                    source=values["source"] or "console",
                    evidence_ref=values["evidence_ref"],
                    reason=values["reason"] or "recorded in the console",
                ),
                user.principal,
            )
        except (InvalidInput, Conflict) as exc:
            settle(session, exc)
            key = {"valid_to": "to", "valid_from": "from"}.get(exc.field or "", exc.field or "kind")
            errors[key] = exc.detail[:1].upper() + exc.detail[1:]
        except ValidationError as exc:
            errors["kind"] = f"Check the answers: {exc.errors()[0]['loc'][0]} is not valid"
    if errors:
        return _status_form(request, person, 422, errors, values)
    flash(request, "Status recorded", "The previous status record is kept in the history.")
    return RedirectResponse(f"/casework/people/{pid}", status_code=303)


# referrals and contests ---------------------------------------------------------------------
@router.get("/casework/contests", response_class=HTMLResponse)
def contests(request: Request, user: Caseworker, session: SessionDep) -> Response:
    state = request.query_params.get("state", "open")
    state = state if state in ("open", "closed") else "open"
    service = CaseService(session)
    page = Paging.of(request).with_total(service.count_cases(user.principal, state=state))
    cases = service.cases(user.principal, state=state, limit=page.size, offset=page.offset)
    return render(
        request,
        "console/contests.html",
        title="Referrals and contests",
        cases=cases,
        state=state,
        page=page.context(request),
    )


@router.get("/casework/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: uuid.UUID,
    request: Request,
    user: Caseworker,
    session: SessionDep,
    errors: dict[str, str] | None = None,
) -> Response:
    return _case(request, user, session, case_id)


def _case(
    request: Request,
    user: Any,
    session: Any,
    case_id: uuid.UUID,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    case = CaseService(session).case(case_id, user.principal)
    check = CheckService(session).check(case.check_id, user.principal)
    return render(
        request,
        "console/case.html",
        status_code=status_code,
        title="Referral or contest",
        case=case,
        check=check,
        errors=errors or {},
        values=values or {},
        outcome_titles=OUTCOME_TITLES,
        items=[
            {"value": k, "text": v, "checked": (values or {}).get("outcome") == k}
            for k, v in RESOLUTIONS.items()
        ],
    )


@router.post("/casework/cases/{case_id}", response_class=HTMLResponse)
def resolve_case(
    case_id: uuid.UUID, request: Request, form: Form, user: Caseworker, session: SessionDep
) -> Response:
    values = {"outcome": field(form, "outcome"), "note": field(form, "note")}
    errors: dict[str, str] = {}
    if values["outcome"] not in RESOLUTIONS:
        errors["outcome"] = "Select the outcome"
    if not values["note"]:
        errors["note"] = "Explain the outcome; the person and the checker will rely on it"
    if not errors:
        try:
            CaseService(session).resolve(case_id, user.principal, values["outcome"], values["note"])
        except (InvalidInput, Conflict) as exc:
            settle(session, exc)
            errors["outcome"] = exc.detail[:1].upper() + exc.detail[1:]
    if errors:
        return _case(request, user, session, case_id, 422, errors, values)
    flash(request, "Case closed", "The outcome is recorded in the audit log.")
    return RedirectResponse("/casework/contests", status_code=303)


# corrections ------------------------------------------------------------------------------
def _recipients(session: Any, person_id: uuid.UUID, record_id: uuid.UUID) -> list[str]:
    """Names of the organisations that received data from this record (they will be told)."""

    ids = {
        d.recipient_org_id
        for d in disclosures_of(session, str(person_id), [str(record_id)])
        if d.recipient_org_id
    }
    accounts = AccountService(session)
    return sorted(accounts.organisation(i).name for i in ids)


def _correction_form(
    request: Request,
    session: Any,
    person: Any,
    record: Any,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    values = values or {
        "kind": record.kind,
        "may_work": "yes" if record.may_work else "",
        "may_rent": "yes" if record.may_rent else "",
        "public_funds": "yes" if record.public_funds else "",
        "work_conditions": record.work_conditions,
    }
    return render(
        request,
        "console/correction.html",
        status_code=status_code,
        title="Correct a status record",
        person=person,
        record=record,
        record_title=STATUS_TITLES.get(record.kind, record.kind),
        recipients=_recipients(session, person.id, record.id),
        errors=errors or {},
        values=values,
        kind_items=[
            {
                "value": k.value,
                "text": STATUS_TITLES[k.value],
                "checked": values.get("kind") == k.value,
            }
            for k in StatusKind
        ],
    )


def _record_of(service: StatusService, pid: uuid.UUID, record_id: uuid.UUID) -> Any:

    for r in service.status_history(pid):
        if r.id == record_id:
            return r
    raise NotFound("status record not found")


@router.get("/casework/people/{person_id}/status/{record_id}/correct", response_class=HTMLResponse)
def correction_form(
    person_id: str, record_id: uuid.UUID, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    pid = _person_id(person_id)
    service = StatusService(session)
    return _correction_form(
        request, session, service.person(pid), _record_of(service, pid, record_id)
    )


@router.post("/casework/people/{person_id}/status/{record_id}/correct", response_class=HTMLResponse)
def correct(
    person_id: str,
    record_id: uuid.UUID,
    request: Request,
    form: Form,
    user: Caseworker,
    session: SessionDep,
) -> Response:

    pid = _person_id(person_id)
    service = StatusService(session)
    person, record = service.person(pid), _record_of(service, pid, record_id)
    values = {k: field(form, k) for k in ("kind", "work_conditions", "reason", "evidence_ref")}
    for flag in ("may_work", "may_rent", "public_funds"):
        values[flag] = "yes" if field(form, flag) else ""
    wanted = {
        "kind": values["kind"],
        "may_work": bool(values["may_work"]),
        "may_rent": bool(values["may_rent"]),
        "public_funds": bool(values["public_funds"]),
        "work_conditions": values["work_conditions"],
    }
    changes = {k: v for k, v in wanted.items() if getattr(record, k) != v}
    errors: dict[str, str] = {}
    if not changes:
        errors["kind"] = "Change at least one answer: the correction must fix something"
    if not values["reason"]:
        errors["reason"] = "Enter what was wrong"
    if not values["evidence_ref"]:
        errors["evidence_ref"] = "Enter the reference of the evidence for the correction"
    if not errors:
        try:
            correction = CorrectionService(session).correct(
                user.principal,
                target_kind="status_record",
                target_id=record.id,
                reason=values["reason"],
                evidence_ref=values["evidence_ref"],
                changes=changes,
            )
        except (InvalidInput, Conflict) as exc:
            settle(session, exc)
            errors["kind"] = exc.detail[:1].upper() + exc.detail[1:]
        else:
            if correction.state == "pending_approval":
                flash(
                    request,
                    "Correction waiting for a second caseworker",
                    "It lifts an adverse action, so another caseworker must approve it.",
                )
            else:
                told = len(NoticeService(session).notices_of(correction.id))
                flash(
                    request,
                    "Correction applied",
                    f"{told} organisation{'' if told == 1 else 's'} sent the wrong data "
                    f"{'has' if told == 1 else 'have'} been told.",
                )
            return RedirectResponse(f"/casework/people/{pid}", status_code=303)
    return _correction_form(request, session, person, record, 422, errors, values)


# watch-list verification (four eyes) ---------------------------------------------------------
def _watchlist_page(
    request: Request,
    user: Any,
    session: Any,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:

    service = WatchlistService(session)
    state = request.query_params.get("state", EntryState.PROPOSED)
    state = state if state in set(EntryState) else EntryState.PROPOSED
    counts = service.counts()
    page = Paging.of(request).with_total(counts[state])
    rows = service.page(state, limit=page.size, offset=page.offset)
    refs = dict(session.execute(select(Agreement.id, Agreement.reference)).all())
    # Active entries are gated again as they are read: the page's entries, in one pass.
    gated = service.check_many(rows) if state == EntryState.ACTIVE else {}
    names: dict[Any, str] = {}
    entries = []
    for e in rows:
        for who in (e.proposed_by, e.verified_by):
            if who is not None and who not in names:
                names[who] = user_name(session, who)
        reasons = gated.get(e.id) if state == EntryState.ACTIVE else list(e.reasons or [])
        entries.append(
            {
                "id": e.id,
                "person_id": e.person_id,
                "agreement": refs.get(e.agreement_id, ""),
                "evidence_ref": e.evidence_ref,
                "proposed_by": names.get(e.proposed_by, "") if e.proposed_by else "",
                "proposed_at": e.created_at,
                "verified_by": names.get(e.verified_by, "") if e.verified_by else "",
                "verified_at": e.verified_at,
                "left_reason": e.left_reason,
                "kept_out": explain(reasons or []),
                "own": e.proposed_by == user.id,
            }
        )
    titles = {
        EntryState.PROPOSED: "To verify",
        EntryState.ACTIVE: "On the list",
        EntryState.REFUSED: "Refused by the gate",
        EntryState.LEFT: "Left the list",
    }
    return render(
        request,
        "console/watchlist.html",
        status_code=status_code,
        title="Watch-list entries to verify" if state == EntryState.PROPOSED else "Watch list",
        entries=entries,
        errors=errors or {},
        state=state,
        tabs=[{"state": str(s), "title": titles[s], "count": counts[str(s)]} for s in EntryState],
        page=page.context(request),
    )


@router.get("/casework/watchlist", response_class=HTMLResponse)
def watchlist(request: Request, user: Caseworker, session: SessionDep) -> Response:
    return _watchlist_page(request, user, session)


@router.post("/casework/watchlist/{entry_id}/verify", response_class=HTMLResponse)
def verify_entry(
    entry_id: uuid.UUID, request: Request, form: Form, user: Caseworker, session: SessionDep
) -> Response:

    try:
        entry = WatchlistService(session).verify(entry_id, user.principal)
    except (Forbidden, Conflict) as exc:
        settle(session, exc)
        errors = {f"verify-{entry_id}": exc.detail[:1].upper() + exc.detail[1:]}
        status = 403 if isinstance(exc, Forbidden) else 409
        return _watchlist_page(request, user, session, status, errors)
    if entry.reasons:
        flash(request, "Entry refused by the gate", " ".join(explain(list(entry.reasons))))
    else:
        flash(request, "Entry verified", "The person is now on the watch list.")
    return RedirectResponse("/casework/watchlist", status_code=303)


# record an immigration decision --------------------------------------------------------------
def _decision_form(
    request: Request,
    person: Any,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:

    values = values or {}
    return render(
        request,
        "console/decision_new.html",
        status_code=status_code,
        title="Record an immigration decision",
        person=person,
        errors=errors or {},
        values=values,
        type_items=[
            {"value": t.value, "text": t.value.capitalize(), "checked": values.get("type") == t}
            for t in DecisionType
        ],
    )


@router.get("/casework/people/{person_id}/decisions", response_class=HTMLResponse)
def decision_form(
    person_id: str, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    return _decision_form(request, StatusService(session).person(_person_id(person_id)))


@router.post("/casework/people/{person_id}/decisions", response_class=HTMLResponse)
def record_decision(
    person_id: str, request: Request, form: Form, user: Caseworker, session: SessionDep
) -> Response:

    pid = _person_id(person_id)
    service = StatusService(session)
    person = service.person(pid)
    keys: tuple[str, ...] = ("type", "evidence_ref", "final")
    keys += tuple(f"{p}-{part}" for p in ("decided", "window") for part in ("day", "month", "year"))
    values = {k: field(form, k) for k in keys}
    errors: dict[str, str] = {}
    if values["type"] not in {t.value for t in DecisionType}:
        errors["type"] = "Select the decision"
    decided_on = date_field(form, "decided")
    if decided_on is None:
        errors["decided"] = "Enter the date of the decision as a real date"
    window = date_field(form, "window")
    if window is None and any(values[f"window-{p}"] for p in ("day", "month", "year")):
        errors["window"] = "Enter the end of the appeal window as a real date, or leave it empty"
    if not values["evidence_ref"]:
        errors["evidence_ref"] = "Enter the reference of the evidence for this decision"
    if not errors and decided_on is not None:
        try:
            service.record_decision(
                pid,
                DecisionIn(
                    type=DecisionType(values["type"]),
                    decided_on=decided_on,
                    final=bool(values["final"]),
                    appeal_window_end=window,
                    source="console",
                    evidence_ref=values["evidence_ref"],
                ),
                user.principal,
            )
        except (InvalidInput, Conflict) as exc:
            settle(session, exc)
            errors[exc.field or "type"] = exc.detail[:1].upper() + exc.detail[1:]
    if errors:
        return _decision_form(request, person, 422, errors, values)
    flash(request, "Decision recorded", "It is now part of the person's history.")
    return RedirectResponse(f"/casework/people/{pid}", status_code=303)

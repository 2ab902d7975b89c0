"""Firewall rules and pauses: the register page, pausing sharing, and two-officer rule changes.

A pause is asked for on one page, checked on a second (which says in plain English what will
be refused, from when) and written only when the officer confirms; the answers wait in the
session in between. A firewall change is proposed by one officer and applies only when a
second officer approves it on the register page (``FirewallService`` enforces that rule).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.models import Agreement, AgreementState
from shareguard.agreements.service import AgreementService, user_name
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.policy.service import FirewallService, PauseService, in_force
from shareguard.storage.base import utcnow
from shareguard.storage.db import settle
from shareguard.web.console.firewall_forms import (
    ACTIONS,
    CATEGORY_TITLES,
    PAUSE_FIELDS,
    RULE_TEXT,
    pause_sentence,
    read_pause,
    read_proposal,
    values_of,
)
from shareguard.web.console.paging import Paging
from shareguard.web.console.render import render
from shareguard.web.console.security import (
    ConsoleUser,
    Form,
    Officer,
    OfficerOrAuditor,
    field,
    flash,
    load_user,
)
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

DRAFT = "pause_draft"
REGISTER = "/governance/firewall"
OPERATIONS = {"create": "Add a rule", "update": "Change a rule", "retire": "Retire a rule"}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _titles(codes: list[str], table: dict[str, Any]) -> list[str]:
    return [table[c].title if c in table else c for c in codes]


def _pausable(session: Any, user: ConsoleUser) -> dict[str, Agreement]:
    """Agreements a pause can name, by reference: every one not yet ended."""
    found, _ = AgreementService(session).find(user.principal, limit=10_000)
    return {a.reference: a for a in found if a.state != AgreementState.ENDED}


# the register page -------------------------------------------------------------------------
@router.get(REGISTER, response_class=HTMLResponse)
def firewall(request: Request, user: OfficerOrAuditor, session: SessionDep) -> Response:
    return _firewall_page(request, user, session)


def _rule_view(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "categories": [CATEGORY_TITLES.get(c, c) for c in fields.get("categories", [])],
        "data_items": _titles(fields.get("data_items", []), DATA_ITEMS),
        "purposes": _titles(fields.get("purposes", []), PURPOSES),
        "actions": [ACTIONS[a][0] if a in ACTIONS else a for a in fields.get("actions", [])],
    }


def _firewall_page(
    request: Request,
    user: ConsoleUser,
    session: Any,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    service = FirewallService(session)
    now = utcnow()
    refs = {str(a.id): a.reference for a in AgreementService(session).find(limit=10_000)[0]}
    rules = [
        {
            "key": r.key,
            "title": r.title,
            "description": r.description,
            "version": r.version,
            **_rule_view(
                {
                    "categories": r.categories,
                    "data_items": r.data_items,
                    "purposes": r.purposes,
                    "actions": r.actions,
                }
            ),
        }
        for r in service.rules()
    ]
    changes = [
        {
            "id": c.id,
            "operation": OPERATIONS.get(c.operation, c.operation),
            "rule_key": c.rule_key,
            "title": c.proposed.get("title", ""),
            "description": c.proposed.get("description", ""),
            **_rule_view(c.proposed),
            "reason": c.reason,
            "at": c.created_at,
            "by": user_name(session, c.proposed_by),
            "mine": c.proposed_by == user.id,
        }
        for c in service.changes("pending")
    ]
    page = Paging.of(request)
    paused, total = PauseService(session).page(limit=page.size, offset=page.offset)
    page = page.with_total(total)
    pauses = [
        {
            "id": p.id,
            "title": p.title,
            "reason": p.reason,
            "owner": user_name(session, p.owner_id),
            "starts_at": p.starts_at,
            "ends_at": p.ends_at,
            "in_force": in_force(p, now),
            "scheduled": p.starts_at > now,
            "lifted_by": user_name(session, p.lifted_by) if p.lifted_by else None,
            "lift_reason": p.lift_reason,
            "effect": pause_sentence(
                agreements=[refs.get(a, a) for a in p.agreement_ids],
                purposes=p.purposes,
                actions=p.actions,
                age_over=p.age_over,
                age_under=p.age_under,
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                now=now,
            ),
        }
        for p in paused
    ]
    return render(
        request,
        "console/firewall.html",
        status_code=status_code,
        title="Firewall rules and pauses",
        rules=rules,
        changes=changes,
        pauses=pauses,
        page=page.context(request),
        errors=errors or {},
        officer=user.has("governance_officer"),
    )


@router.post("/governance/pauses/{pause_id}/lift", response_class=HTMLResponse)
def lift_pause(
    pause_id: uuid.UUID, request: Request, form: Form, user: Officer, session: SessionDep
) -> Response:
    reason = field(form, "reason")
    try:
        pause = PauseService(session).lift(pause_id, user.principal, reason)
    except (InvalidInput, Conflict) as exc:
        settle(session, exc)
        errors = {f"reason-{pause_id}": _sentence(exc.detail)}
        return _firewall_page(request, user, session, 422, errors)
    flash(request, f"Pause lifted: {pause.title}", "Sharing it blocked can resume at once.")
    return RedirectResponse(REGISTER, status_code=303)


# approving or rejecting a change -----------------------------------------------------------
@router.post("/governance/firewall/changes/{change_id}/decision", response_class=HTMLResponse)
def decide_change(
    change_id: uuid.UUID, request: Request, form: Form, user: Officer, session: SessionDep
) -> Response:
    decision, note = field(form, "decision"), field(form, "note")
    service = FirewallService(session)
    key = f"note-{change_id}"
    if decision not in ("approve", "reject"):
        return _firewall_page(request, user, session, 422, {key: "Select approve or reject"})
    try:
        change = (service.approve if decision == "approve" else service.reject)(
            change_id, user.principal, note
        )
    except NotFound:
        raise
    except (Forbidden, Conflict, InvalidInput) as exc:
        settle(session, exc)
        status = 403 if isinstance(exc, Forbidden) else 409 if isinstance(exc, Conflict) else 422
        return _firewall_page(request, user, session, status, {key: _sentence(exc.detail)})
    if decision == "approve":
        flash(
            request,
            f"Change approved: {OPERATIONS[change.operation].lower()} {change.rule_key}",
            "It applies to every decision from now on.",
        )
    else:
        flash(request, f"Change rejected: {change.rule_key}", "The firewall rules are unchanged.")
    return RedirectResponse(REGISTER, status_code=303)


# proposing a change ------------------------------------------------------------------------
def _propose_page(
    request: Request,
    session: Any,
    values: dict[str, Any],
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    rules = FirewallService(session).rules()
    return render(
        request,
        "console/firewall_propose.html",
        status_code=status_code,
        title="Propose a firewall change",
        values=values,
        errors=errors or {},
        rules=[{"value": r.key, "text": r.title, "hint": r.key} for r in rules],
        categories=list(CATEGORY_TITLES.items()),
        data_items=[(d.code, d.title) for d in DATA_ITEMS.values()],
        purposes=[(p.code, p.title) for p in PURPOSES.values()],
        actions=[(code, text[0]) for code, text in ACTIONS.items()],
    )


@router.get("/governance/firewall/changes/new", response_class=HTMLResponse)
def propose_form(request: Request, user: Officer, session: SessionDep) -> Response:
    """The form, filled in from an existing rule when asked to change or retire it."""
    values: dict[str, Any] = {"operation": request.query_params.get("operation", "")}
    key = request.query_params.get("rule", "")
    rule = next((r for r in FirewallService(session).rules() if r.key == key), None)
    if rule is not None:
        values.update(
            rule=rule.key,
            title=rule.title,
            description=rule.description,
            categories=list(rule.categories),
            data_items=list(rule.data_items),
            purposes=list(rule.purposes),
            actions=list(rule.actions),
        )
    return _propose_page(request, session, values)


@router.post("/governance/firewall/changes/new", response_class=HTMLResponse)
def propose(request: Request, form: Form, user: Officer, session: SessionDep) -> Response:
    values = values_of(form, RULE_TEXT)
    keys = {r.key for r in FirewallService(session).rules(include_retired=True)}
    active = {r.key for r in FirewallService(session).rules()}
    data, errors = read_proposal(values, active if values["operation"] != "create" else keys)
    if data is None:
        return _propose_page(request, session, values, 422, errors)
    try:
        change = FirewallService(session).propose(data, user.principal)
    except (InvalidInput, Conflict) as exc:
        settle(session, exc)
        at = {"key": "key" if data.operation == "create" else "rule"}.get(exc.field or "", "title")
        return _propose_page(request, session, values, 422, {at: _sentence(exc.detail)})
    flash(
        request,
        f"Change proposed: {OPERATIONS[change.operation].lower()} {change.rule_key}",
        "A second governance officer must approve it before it takes effect. "
        "You cannot approve it yourself.",
    )
    return RedirectResponse(REGISTER, status_code=303)


# pausing sharing ---------------------------------------------------------------------------
def _pause_page(
    request: Request,
    session: Any,
    user: ConsoleUser,
    values: dict[str, Any],
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    agreements = _pausable(session, user)
    return render(
        request,
        "console/pause_new.html",
        status_code=status_code,
        title="Pause sharing",
        values=values,
        errors=errors or {},
        agreements=[(ref, f"{ref}: {a.title}") for ref, a in agreements.items()],
        purposes=[(p.code, p.title) for p in PURPOSES.values()],
        actions=[(code, text[0]) for code, text in ACTIONS.items()],
    )


def _draft(request: Request) -> dict[str, Any]:
    draft = request.session.get(DRAFT)
    return dict(draft) if isinstance(draft, dict) else {}


@router.get("/governance/pauses/new", response_class=HTMLResponse)
def pause_form(request: Request, user: Officer, session: SessionDep) -> Response:
    return _pause_page(request, session, user, _draft(request))


@router.post("/governance/pauses/new", response_class=HTMLResponse)
def pause_answers(request: Request, form: Form, user: Officer, session: SessionDep) -> Response:
    values = values_of(form, PAUSE_FIELDS)
    _, errors = read_pause(values, _pausable(session, user))
    if errors:
        return _pause_page(request, session, user, values, 422, errors)
    request.session[DRAFT] = values
    return RedirectResponse("/governance/pauses/check", status_code=303)


def _summary(values: dict[str, Any], data: Any) -> list[tuple[str, str, str]]:
    """(field, label, answer) rows for the check-answers page."""
    age = (
        f"Over {data.age_over}"
        if data.age_over is not None
        else f"Under {data.age_under}"
        if data.age_under is not None
        else "Any age"
    )
    ends = data.ends_at
    return [
        ("title", "Title", data.title),
        ("reason", "Reason", data.reason),
        ("agreement", "Agreement", values.get("agreement") or "Every agreement"),
        ("purposes", "Purposes", ", ".join(_titles(data.purposes, PURPOSES)) or "Every purpose"),
        (
            "actions",
            "Sharing paused",
            ", ".join(ACTIONS[a][0] for a in data.actions) or "Every kind of sharing",
        ),
        ("age", "Age on the date of the decision", age),
        ("start", "Starts", "Now" if data.starts_at is None else _day_text(data.starts_at)),
        ("end", "Ends", "When it is lifted" if ends is None else _last_day(ends)),
    ]


def _day_text(at: Any) -> str:
    return f"{at.day} {at:%B %Y}"


def _last_day(ends: Any) -> str:
    return "At the end of " + _day_text(ends - timedelta(microseconds=1))


def _effect(data: Any) -> str:
    return pause_sentence(
        agreements=data.agreements,
        purposes=data.purposes,
        actions=data.actions,
        age_over=data.age_over,
        age_under=data.age_under,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
    )


@router.get("/governance/pauses/check", response_class=HTMLResponse)
def pause_check(request: Request, user: Officer, session: SessionDep) -> Response:
    values = _draft(request)
    data, _ = read_pause(values, _pausable(session, user))
    if data is None:  # no answers yet, or they no longer hold: ask again
        return RedirectResponse("/governance/pauses/new", status_code=303)
    return render(
        request,
        "console/pause_check.html",
        title="Check the pause before it starts",
        rows=_summary(values, data),
        effect=_effect(data),
        errors={},
    )


@router.post("/governance/pauses/check", response_class=HTMLResponse)
def pause_create(request: Request, form: Form, user: Officer, session: SessionDep) -> Response:
    values = _draft(request)
    data, errors = read_pause(values, _pausable(session, user))
    if data is None:
        return _pause_page(request, session, user, values, 422, errors)
    try:
        pause = PauseService(session).create(data, user.principal)
    except InvalidInput as exc:
        settle(session, exc)
        at = {"ends_at": "end", "age_under": "age_years"}.get(exc.field or "", "agreement")
        return _pause_page(request, session, user, values, 422, {at: _sentence(exc.detail)})
    request.session.pop(DRAFT, None)
    refs = [values["agreement"]] if data.agreements else []
    effect = pause_sentence(
        agreements=refs,
        purposes=pause.purposes,
        actions=pause.actions,
        age_over=pause.age_over,
        age_under=pause.age_under,
        starts_at=pause.starts_at,
        ends_at=pause.ends_at,
    )
    flash(request, f"Sharing paused: {pause.title}", effect)
    return RedirectResponse(REGISTER, status_code=303)

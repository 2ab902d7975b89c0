"""A caseworker proposes a person for an agreement's watch list: question, check answers, done.

The answers are held in the session between the question page and the check-answers page,
so nothing is written until the caseworker confirms. The gate is asked before each step
(``WatchlistService.precheck``); a second caseworker's ``verify`` runs it again in full.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shareguard.agreements.models import Agreement, AgreementState
from shareguard.agreements.service import AgreementService
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.matching.watchlist import REASONS, WatchlistService
from shareguard.status.service import StatusService
from shareguard.storage.base import today
from shareguard.storage.db import settle
from shareguard.web.console.render import render
from shareguard.web.console.security import Caseworker, ConsoleUser, Form, field, load_user
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

DRAFT = "watchlist_draft"

#: The gate's reasons as a caseworker would say them, with the answer they concern.
PLAIN: dict[str, tuple[str, str]] = {
    "no_decision": ("decision", "The decision you chose is not recorded for this person"),
    "decision_superseded": (
        "decision",
        "The decision has been replaced by a later one: choose the current decision",
    ),
    "decision_overturned": (
        "decision",
        "The decision was overturned, so it cannot put the person on a watch list",
    ),
    "decision_not_adverse": (
        "decision",
        "The decision is a grant: only a refusal or curtailment can put a person on a watch list",
    ),
    "decision_not_final": (
        "decision",
        "The decision is not final: propose the person only once it is final",
    ),
    "appeal_open": (
        "decision",
        "An appeal is lodged or pending: the person cannot be proposed until it is decided",
    ),
    "appeal_window_open": (
        "decision",
        "The appeal window has not closed: propose the person once it has passed",
    ),
    "missing_name": ("decision", "The person has no name recorded: record their name first"),
    "implausible_date_of_birth": (
        "decision",
        "The person's date of birth is missing or not plausible: correct it first",
    ),
    "implausible_decision_date": (
        "decision",
        "The decision date is before the person's birth or in the future: correct it first",
    ),
    "status_conflict": (
        "decision",
        "The person's current status grants them leave, so they cannot be on a watch list",
    ),
    "policy_refused": (
        "agreement",
        "A firewall rule or pause stops bulk sharing of this person under this agreement",
    ),
    "quality_hold": (
        "decision",
        "An open data-quality finding about this person must be resolved first",
    ),
}

#: What the gate checks, as the confirmation page and the question page explain it.
GATE_CHECKS = [
    "the decision is a final refusal or curtailment, not overturned or replaced",
    "no appeal is lodged or pending, and the appeal window has passed",
    "the person has a name and plausible dates, and no current status granting leave",
    "no data-quality finding about the person is open",
    "no firewall rule or pause stops sharing this person under the agreement",
]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _person_id(raw: str) -> uuid.UUID:
    pid = _uuid(raw)
    if pid is None:
        raise NotFound("person not found")
    return pid


def watch_list_agreements(session: Any, user: ConsoleUser) -> list[Agreement]:
    """In-force bulk agreements under which the user's organisation discloses its watch list."""
    found, _ = AgreementService(session).find(
        user.principal, state=AgreementState.ACTIVE, limit=10_000
    )
    on = today()
    return [
        a for a in found if a.bulk and a.in_force(on) and user.organisation_id in a.disclosers()
    ]


def _decision_label(d: Any) -> tuple[str, str]:
    text = f"{d.type.capitalize()} on {d.decided_on.day} {d.decided_on:%B %Y}"
    window = d.appeal_window_end
    hint = [
        "final" if d.final else "not final",
        f"appeal: {str(d.appeal_state).replace('_', ' ')}",
        f"appeal window ends {window.day} {window:%B %Y}" if window else "no appeal window end",
    ]
    if d.overturned:
        hint.append("overturned")
    joined = "; ".join(hint)
    return text, joined[:1].upper() + joined[1:]


class Answers:
    """The three answers, read from a form or the session draft, and checked."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def check(
        self, agreements: list[Agreement], decisions: list[Any]
    ) -> tuple[dict[str, str], Agreement | None, Any]:
        errors: dict[str, str] = {}
        agreement = next((a for a in agreements if str(a.id) == self.values["agreement"]), None)
        decision = next((d for d in decisions if str(d.id) == self.values["decision"]), None)
        if agreement is None:
            errors["agreement"] = "Select the agreement whose watch list the person should join"
        if decision is None:
            errors["decision"] = "Select the decision the entry rests on"
        if not self.values["evidence_ref"]:
            errors["evidence_ref"] = "Enter the evidence reference, for example the case file"
        elif len(self.values["evidence_ref"]) > 200:
            errors["evidence_ref"] = "Evidence reference must be 200 characters or fewer"
        return errors, agreement, decision


def _answers(form: Any) -> Answers:
    return Answers({k: field(form, k) for k in ("agreement", "decision", "evidence_ref")})


def _refusals(reasons: list[str]) -> list[dict[str, str]]:
    return [
        {"href": "#" + PLAIN.get(r, ("decision", ""))[0], "text": PLAIN.get(r, ("", ""))[1]}
        if r in PLAIN
        else {"href": "#decision", "text": _sentence(REASONS.get(r, r))}
        for r in reasons
    ]


def _error_list(errors: dict[str, str], refusals: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"href": f"#{k}", "text": v} for k, v in errors.items()] + refusals


# the question page -------------------------------------------------------------------------
def _question(
    request: Request,
    session: Any,
    user: ConsoleUser,
    person: Any,
    values: dict[str, str],
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    refusals: list[dict[str, str]] | None = None,
) -> Response:
    errors = errors or {}
    refusals = refusals or []
    # The answer at fault repeats, beside it, what the summary says.
    fields = dict(errors)
    for key in ("agreement", "decision"):
        said = [r["text"] for r in refusals if r["href"] == f"#{key}"]
        if said and key not in fields:
            fields[key] = ". ".join(said)
    agreements = watch_list_agreements(session, user)
    decisions = StatusService(session).current_decisions(person.id)
    decision_items = []
    for d in reversed(decisions):
        text, hint = _decision_label(d)
        decision_items.append(
            {
                "value": str(d.id),
                "text": text,
                "hint": {"text": hint},
                "checked": values.get("decision") == str(d.id),
            }
        )
    return render(
        request,
        "console/watchlist_propose.html",
        status_code=status_code,
        title="Propose for a watch list",
        person=person,
        values=values,
        errors=fields,
        error_list=_error_list(errors, refusals),
        agreement_items=[
            {
                "value": str(a.id),
                "text": f"{a.reference}: {a.title}",
                "checked": values.get("agreement") == str(a.id),
            }
            for a in agreements
        ],
        decision_items=decision_items,
        gate_checks=GATE_CHECKS,
    )


def _draft(request: Request, pid: uuid.UUID) -> dict[str, str]:
    draft = request.session.get(DRAFT)
    if isinstance(draft, dict) and draft.get("person_id") == str(pid):
        return {k: str(draft.get(k, "")) for k in ("agreement", "decision", "evidence_ref")}
    return {}


@router.get("/casework/people/{person_id}/watchlist/new", response_class=HTMLResponse)
def propose_form(
    person_id: str, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    pid = _person_id(person_id)
    person = StatusService(session).person(pid)
    return _question(request, session, user, person, _draft(request, pid))


@router.post("/casework/people/{person_id}/watchlist/new", response_class=HTMLResponse)
def propose_answers(
    person_id: str, request: Request, form: Form, user: Caseworker, session: SessionDep
) -> Response:
    pid = _person_id(person_id)
    status = StatusService(session)
    person = status.person(pid)
    answers = _answers(form)
    errors, agreement, decision = answers.check(
        watch_list_agreements(session, user), status.current_decisions(pid)
    )
    if errors:
        return _question(request, session, user, person, answers.values, 422, errors)
    assert agreement is not None and decision is not None
    reasons = WatchlistService(session).precheck(agreement.id, pid, decision.id, user.id)
    if reasons:
        return _question(
            request, session, user, person, answers.values, 422, refusals=_refusals(reasons)
        )
    request.session[DRAFT] = {"person_id": str(pid), **answers.values}
    return RedirectResponse(f"/casework/people/{pid}/watchlist/check", status_code=303)


# check answers -----------------------------------------------------------------------------
def _check_page(
    request: Request,
    person: Any,
    agreement: Agreement,
    decision: Any,
    values: dict[str, str],
    status_code: int = 200,
    error_list: list[dict[str, str]] | None = None,
) -> Response:
    text, hint = _decision_label(decision)
    return render(
        request,
        "console/watchlist_propose_check.html",
        status_code=status_code,
        title="Check your answers before proposing",
        person=person,
        agreement=agreement,
        decision_text=text,
        decision_hint=hint,
        evidence_ref=values["evidence_ref"],
        errors={e["href"]: e["text"] for e in error_list or []},
        error_list=error_list or [],
    )


def _from_draft(
    request: Request, session: Any, user: ConsoleUser, pid: uuid.UUID
) -> tuple[Answers, dict[str, str], Agreement | None, Any]:
    answers = Answers(_draft(request, pid) or {"agreement": "", "decision": "", "evidence_ref": ""})
    errors, agreement, decision = answers.check(
        watch_list_agreements(session, user), StatusService(session).current_decisions(pid)
    )
    return answers, errors, agreement, decision


@router.get("/casework/people/{person_id}/watchlist/check", response_class=HTMLResponse)
def check_answers(
    person_id: str, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    pid = _person_id(person_id)
    person = StatusService(session).person(pid)
    answers, errors, agreement, decision = _from_draft(request, session, user, pid)
    if errors or agreement is None:  # no answers yet, or they no longer hold: ask again
        return RedirectResponse(f"/casework/people/{pid}/watchlist/new", status_code=303)
    return _check_page(request, person, agreement, decision, answers.values)


@router.post("/casework/people/{person_id}/watchlist/check", response_class=HTMLResponse)
def propose(
    person_id: str, request: Request, form: Form, user: Caseworker, session: SessionDep
) -> Response:
    pid = _person_id(person_id)
    person = StatusService(session).person(pid)
    answers, errors, agreement, decision = _from_draft(request, session, user, pid)
    if errors:
        return _question(request, session, user, person, answers.values, 422, errors)
    assert agreement is not None and decision is not None
    service = WatchlistService(session)
    # The register may have changed since the question page (an appeal lodged, say).
    reasons = service.precheck(agreement.id, pid, decision.id, user.id)
    if reasons:
        return _check_page(
            request,
            person,
            agreement,
            decision,
            answers.values,
            422,
            [{**r, "href": "#answer-" + r["href"][1:]} for r in _refusals(reasons)],
        )
    try:
        entry = service.propose(
            agreement.id, pid, decision.id, answers.values["evidence_ref"], user.principal
        )
    except (Conflict, InvalidInput, Forbidden) as exc:
        settle(session, exc)
        key = {"evidence_ref": "evidence_ref", "agreement_id": "agreement"}.get(
            exc.field or "", "agreement"
        )
        status = 409 if isinstance(exc, Conflict) else 422
        error = [{"href": f"#answer-{key}", "text": _sentence(exc.detail)}]
        return _check_page(request, person, agreement, decision, answers.values, status, error)
    request.session.pop(DRAFT, None)
    return RedirectResponse(f"/casework/people/{pid}/watchlist/{entry.id}/proposed", 303)


# confirmation ------------------------------------------------------------------------------
@router.get(
    "/casework/people/{person_id}/watchlist/{entry_id}/proposed", response_class=HTMLResponse
)
def proposed(
    person_id: str, entry_id: uuid.UUID, request: Request, user: Caseworker, session: SessionDep
) -> Response:
    pid = _person_id(person_id)
    person = StatusService(session).person(pid)
    entry = WatchlistService(session).get(entry_id)
    if entry.person_id != pid:
        raise NotFound("watch-list entry not found")
    agreement = AgreementService(session).get(entry.agreement_id)
    return render(
        request,
        "console/watchlist_propose_done.html",
        title="Proposed for the watch list",
        person=person,
        entry=entry,
        agreement=agreement,
        gate_checks=GATE_CHECKS,
    )

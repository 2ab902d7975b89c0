"""Partner pages for bulk matching: its match runs, what each disclosed, and adverse actions.

A partner sees only runs under agreements it receives under; everything it reads here is
what the run already disclosed to it (``partner_results``), never the candidates' scores or
the watch list. An adverse action goes through ``ReviewService.report_adverse_action``,
which refuses (and audits the refusal) unless a reviewer confirmed the match.
"""

from __future__ import annotations

import math
import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shareguard.agreements.catalogue import DATA_ITEMS
from shareguard.agreements.models import Agreement
from shareguard.agreements.service import AgreementService
from shareguard.errors import NotFound, Refused
from shareguard.matching import ADVERSE_KINDS, ReviewService, RunService, confirmed
from shareguard.matching.models import AdverseAction, Candidate, MatchRun, RunState
from shareguard.storage.db import settle
from shareguard.web.console.render import render
from shareguard.web.console.security import ConsoleUser, Form, Partner, field, load_user
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

#: Results per page of the results table.
PAGE = 50
#: Runs listed per agreement (newest first).
RUNS_PER_AGREEMENT = 50

STATES: dict[str, tuple[str, str]] = {
    RunState.QUEUED: ("Queued", "govuk-tag--grey"),
    RunState.RUNNING: ("Running", "govuk-tag--blue"),
    RunState.SUCCEEDED: ("Finished", "govuk-tag--green"),
    RunState.FAILED: ("Failed", "govuk-tag--red"),
}
KINDS = {
    "licence_revoked": ("Licence revoked", "For example, a driving licence was revoked."),
    "account_closed": ("Account closed", "For example, a bank or building society account."),
    "benefit_stopped": ("Benefit stopped", "A benefit, tax credit or other payment stopped."),
    "other": ("Another adverse action", "Any other action against the person."),
}
assert set(KINDS) == set(ADVERSE_KINDS), "a label for every adverse-action kind"
CONFIRMED, AWAITING, NOT_SAME = "Confirmed by review", "Awaiting review", "Not the same person"
REVIEW_TAGS = {
    CONFIRMED: "govuk-tag--green",
    AWAITING: "govuk-tag--yellow",
    NOT_SAME: "govuk-tag--red",
}


# helpers ------------------------------------------------------------------------------------
def _received(session: Any, user: ConsoleUser) -> dict[uuid.UUID, Agreement]:
    """Agreements the partner's organisation receives under (not those it only discloses)."""
    return {
        a.id: a
        for a in AgreementService(session).for_organisation(user.organisation_id)
        if user.organisation_id in a.recipients()
    }


def _run(session: Any, user: ConsoleUser, run_id: uuid.UUID) -> tuple[MatchRun, Agreement]:
    """The run if the partner receives under its agreement; a 404 otherwise (never a hint)."""
    run = RunService(session).run(run_id, user.principal)
    agreement = _received(session, user).get(run.agreement_id)
    if agreement is None:
        raise NotFound(f"match run {run_id} not found")
    return run, agreement


def _state(state: str) -> tuple[str, str]:
    """A run state's GOV.UK tag: its label and colour class."""
    return STATES.get(state, (str(state).capitalize(), "govuk-tag--grey"))


def review_label(candidate: Candidate, two_person_rule: bool) -> str:
    if confirmed(candidate.reviews, two_person_rule):
        return CONFIRMED
    if candidate.review_state == "not_same":
        return NOT_SAME
    return AWAITING


def _value(key: str, value: Any) -> str:
    """A disclosed value as a person reads it."""
    if value is None or value == "":
        return "Not known"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict):
        kind = str(value.get("type", "")).replace("_", " ").capitalize()
        on = value.get("decided_on")
        return f"{kind}, {_date(on)}" if on else kind
    if key in {"date_of_birth", "valid_until"}:
        return _date(value)
    if key == "status":
        return str(value).replace("_", " ").capitalize()
    return str(value)


def _date(value: Any) -> str:
    try:
        d = date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{d.day} {d:%B %Y}"


def _actions(session: Any, user: ConsoleUser, agreement_id: uuid.UUID) -> dict[str, AdverseAction]:
    """This organisation's reported actions under the agreement, by candidate id."""
    return {
        str(a.candidate_id): a
        for a in ReviewService(session).adverse_actions(agreement_id)
        if a.organisation_id == user.organisation_id
    }


def _result(session: Any, user: ConsoleUser, run: MatchRun, candidate_id: uuid.UUID) -> Any:
    """The disclosed result for this candidate in this run, or a 404."""
    for row in RunService(session).partner_results(run.id, user.principal):
        if row.get("candidate_id") == str(candidate_id):
            return row
    raise NotFound(f"result {candidate_id} not found in this run")


# pages --------------------------------------------------------------------------------------
@router.get("/matches", response_class=HTMLResponse)
def runs(request: Request, user: Partner, session: SessionDep) -> Response:
    agreements = _received(session, user)
    service = RunService(session)
    found = [r for a in agreements for r in service.runs(a, limit=RUNS_PER_AGREEMENT)]
    found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    rows = [
        {
            "id": r.id,
            "agreement": agreements[r.agreement_id],
            "created_at": r.created_at,
            "finished_at": r.finished_at,
            "state": r.state,
            "label": _state(r.state)[0],
            "tag": _state(r.state)[1],
            "stage": r.stage,
            "percent": round((r.progress or 0.0) * 100),
            "compared": (r.counts or {}).get("partner_rows"),
            "disclosed": (r.counts or {}).get("disclosed"),
        }
        for r in found
    ]
    return render(
        request,
        "console/match_runs.html",
        title="Match results",
        rows=rows,
        bulk_agreements=[a for a in agreements.values() if a.bulk],
    )


@router.get("/matches/{run_id}", response_class=HTMLResponse)
def results(run_id: uuid.UUID, request: Request, user: Partner, session: SessionDep) -> Response:
    run, agreement = _run(session, user, run_id)
    if run.state != RunState.SUCCEEDED:
        label = _state(run.state)[0].lower()
        return render(
            request,
            "console/match_not_ready.html",
            status_code=409,
            title="These results are not ready",
            run=run,
            agreement=agreement,
            state=label,
        )
    disclosed = RunService(session).partner_results(run.id, user.principal)
    total = len(disclosed)
    pages = max(1, math.ceil(total / PAGE))
    try:
        number = min(max(int(request.query_params.get("page", "1")), 1), pages)
    except ValueError:
        number = 1
    shown = disclosed[(number - 1) * PAGE : number * PAGE]
    keys = [k for k in DATA_ITEMS if any(k in (r.get("person") or {}) for r in disclosed)]
    reported = _actions(session, user, agreement.id)
    service = ReviewService(session)
    rows = []
    for r in shown:
        cand = service.candidate(uuid.UUID(r["candidate_id"]))
        person = r.get("person") or {}
        action = reported.get(r["candidate_id"])
        rows.append(
            {
                "candidate_id": r["candidate_id"],
                "record": r.get("partner_record_id", ""),
                "values": [_value(k, person.get(k)) for k in keys],
                "review": review_label(cand, run.two_person_rule),
                "action": KINDS[action.kind][0] if action and action.kind in KINDS else None,
            }
        )
    for row in rows:
        row["review_tag"] = REVIEW_TAGS[row["review"]]
    return render(
        request,
        "console/match_results.html",
        title=f"Match results: {agreement.reference}",
        run=run,
        agreement=agreement,
        columns=[DATA_ITEMS[k].title for k in keys],
        rows=rows,
        total=total,
        first=(number - 1) * PAGE + 1,
        last=(number - 1) * PAGE + len(rows),
        pagination=_pagination(run.id, number, pages),
        # Runs recorded without their results file (e.g. replayed history) say so, not "none".
        results_missing=not disclosed and (run.counts or {}).get("disclosed") != 0,
    )


def _pagination(run_id: uuid.UUID, number: int, pages: int) -> dict[str, Any] | None:
    """GOV.UK pagination parameters, or None for a single page."""
    if pages <= 1:
        return None
    href = f"/matches/{run_id}?page="
    out: dict[str, Any] = {
        "items": [
            {"number": n, "href": f"{href}{n}", "current": n == number}
            if n in {1, pages} or abs(n - number) <= 1
            else {"ellipsis": True}
            for n in range(1, pages + 1)
        ]
    }
    # Collapse runs of ellipses into one, as the design system's pattern shows.
    items: list[dict[str, Any]] = []
    for item in out["items"]:
        if item.get("ellipsis") and items and items[-1].get("ellipsis"):
            continue
        items.append(item)
    out["items"] = items
    if number > 1:
        out["previous"] = {"href": f"{href}{number - 1}"}
    if number < pages:
        out["next"] = {"href": f"{href}{number + 1}"}
    return out


def _action_form(
    request: Request,
    session: Any,
    user: ConsoleUser,
    run_id: uuid.UUID,
    candidate_id: uuid.UUID,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    run, agreement = _run(session, user, run_id)
    result = _result(session, user, run, candidate_id)
    cand = ReviewService(session).candidate(candidate_id)
    values = values or {}
    return render(
        request,
        "console/match_action.html",
        status_code=status_code,
        title="Report an adverse action",
        run=run,
        agreement=agreement,
        record=result.get("partner_record_id", ""),
        review=review_label(cand, run.two_person_rule),
        two_person_rule=run.two_person_rule,
        kind_items=[
            {
                "value": k,
                "text": label,
                "hint": {"text": hint},
                "checked": values.get("kind") == k,
            }
            for k, (label, hint) in KINDS.items()
        ],
        values=values,
        errors=errors or {},
        action_url=f"/matches/{run.id}/results/{candidate_id}/action",
    )


@router.get("/matches/{run_id}/results/{candidate_id}/action", response_class=HTMLResponse)
def action_form(
    run_id: uuid.UUID, candidate_id: uuid.UUID, request: Request, user: Partner, session: SessionDep
) -> Response:
    return _action_form(request, session, user, run_id, candidate_id)


@router.post("/matches/{run_id}/results/{candidate_id}/action", response_class=HTMLResponse)
def report_action(
    run_id: uuid.UUID,
    candidate_id: uuid.UUID,
    request: Request,
    form: Form,
    user: Partner,
    session: SessionDep,
) -> Response:
    run, _ = _run(session, user, run_id)
    _result(session, user, run, candidate_id)  # 404 unless the run disclosed this match to them
    values = {"kind": field(form, "kind"), "contest_route": field(form, "contest_route")}
    errors: dict[str, str] = {}
    if values["kind"] not in KINDS:
        errors["kind"] = "Select the action you took"
    if not values["contest_route"]:
        errors["contest_route"] = "Enter how the person can contest the action"
    elif len(values["contest_route"]) > 2000:
        errors["contest_route"] = "How the person can contest must be 2,000 characters or fewer"
    if errors:
        return _action_form(request, session, user, run_id, candidate_id, 422, errors, values)
    try:
        action = ReviewService(session).report_adverse_action(
            candidate_id, values["kind"], values["contest_route"], user.principal
        )
    except Refused as exc:
        settle(session, exc)
        return render(
            request,
            "console/match_action_refused.html",
            status_code=403,
            title="You cannot report an action on this match",
            reason=exc.detail[:1].upper() + exc.detail[1:],
            run=run,
        )
    return RedirectResponse(
        f"/matches/{run.id}/results/{candidate_id}/actions/{action.id}", status_code=303
    )


@router.get(
    "/matches/{run_id}/results/{candidate_id}/actions/{action_id}", response_class=HTMLResponse
)
def action_done(
    run_id: uuid.UUID,
    candidate_id: uuid.UUID,
    action_id: uuid.UUID,
    request: Request,
    user: Partner,
    session: SessionDep,
) -> Response:
    run, agreement = _run(session, user, run_id)
    result = _result(session, user, run, candidate_id)
    action = next(
        (
            a
            for a in ReviewService(session).adverse_actions(agreement.id)
            if a.id == action_id
            and a.candidate_id == candidate_id
            and a.organisation_id == user.organisation_id
        ),
        None,
    )
    if action is None:
        raise NotFound(f"adverse action {action_id} not found")
    return render(
        request,
        "console/match_action_done.html",
        title="Action reported",
        action=action,
        kind=KINDS.get(action.kind, (action.kind, ""))[0],
        record=result.get("partner_record_id", ""),
        run=run,
        agreement=agreement,
    )

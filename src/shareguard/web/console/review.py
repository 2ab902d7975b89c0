"""Reviewer pages: the match review queue and each candidate side by side with its explanation."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shareguard.agreements.service import user_name
from shareguard.errors import Conflict, InvalidInput
from shareguard.matching import ReviewService
from shareguard.storage.db import settle
from shareguard.web.console.paging import Paging
from shareguard.web.console.render import render
from shareguard.web.console.security import Form, Reviewer, field, flash, load_user
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

OUTCOMES = {
    "same": "The same person",
    "not_same": "Not the same person",
    "need_info": "I need more information",
}
STATES = {
    "pending": "Waiting for review",
    "same": "Same person",
    "not_same": "Not the same",
    "need_info": "Need more information",
}


def _steps(explanation: list[Any]) -> list[dict[str, Any]]:
    """The match weight waterfall as rows a reviewer can read (and a running total)."""
    rows, total = [], 0.0
    for step in explanation or []:
        if isinstance(step, dict):
            weight = float(step.get("match_weight") or 0.0)
            total += weight
            rows.append(
                {
                    "comparison": str(step.get("comparison", "")).replace("_", " "),
                    "level": step.get("level", ""),
                    "weight": weight,
                    "total": total,
                }
            )
        else:
            rows.append({"comparison": str(step), "level": "", "weight": None, "total": None})
    return rows


@router.get("/review", response_class=HTMLResponse)
def queue(request: Request, user: Reviewer, session: SessionDep) -> Response:
    state = request.query_params.get("state", "pending")
    state = state if state in STATES else "pending"
    page = Paging.of(request)
    service = ReviewService(session)
    rows, total = service.queue(user.principal, state=state, limit=page.size, offset=page.offset)
    if page.offset and not rows and total:  # past the end: show the last page
        page = page.with_total(total)
        rows, total = service.queue(
            user.principal, state=state, limit=page.size, offset=page.offset
        )
    return render(
        request,
        "console/review_queue.html",
        title="Match review queue",
        rows=rows,
        total=total,
        state=state,
        states=STATES,
        page=page.with_total(total).context(request),
    )


def _candidate_page(
    request: Request,
    user: Any,
    session: Any,
    candidate_id: uuid.UUID,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    view = ReviewService(session).side_by_side(candidate_id, user.principal)
    for r in view["reviews"]:
        r["reviewer"] = user_name(session, uuid.UUID(r["reviewer_id"]))
    already = any(r["reviewer_id"] == str(user.id) for r in view["reviews"])
    return render(
        request,
        "console/review_candidate.html",
        status_code=status_code,
        title="Review a match",
        view=view,
        steps=_steps(view["explanation"]),
        errors=errors or {},
        values=values or {},
        already=already,
        outcomes=OUTCOMES,
        items=[
            {"value": k, "text": v, "checked": (values or {}).get("outcome") == k}
            for k, v in OUTCOMES.items()
        ],
    )


@router.get("/review/{candidate_id}", response_class=HTMLResponse)
def candidate(
    candidate_id: uuid.UUID, request: Request, user: Reviewer, session: SessionDep
) -> Response:
    return _candidate_page(request, user, session, candidate_id)


@router.post("/review/{candidate_id}", response_class=HTMLResponse)
def decide(
    candidate_id: uuid.UUID, request: Request, form: Form, user: Reviewer, session: SessionDep
) -> Response:
    values = {"outcome": field(form, "outcome"), "note": field(form, "note")}
    errors: dict[str, str] = {}
    if values["outcome"] not in OUTCOMES:
        errors["outcome"] = "Select whether these records are the same person"
    if not errors:
        try:
            cand = ReviewService(session).review(
                candidate_id, values["outcome"], user.principal, values["note"]
            )
        except (InvalidInput, Conflict) as exc:
            settle(session, exc)
            errors["outcome"] = exc.detail[:1].upper() + exc.detail[1:]
        else:
            flash(
                request,
                "Review recorded",
                f"The match is now {cand.review_state.replace('_', ' ')}.",
            )
            return RedirectResponse("/review", status_code=303)
    return _candidate_page(request, user, session, candidate_id, 422, errors, values)

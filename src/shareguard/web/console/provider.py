"""The browser's side of signing in through an OpenID provider, for staff and the person alike:
where the provider sends its answer, the trip there, and what comes back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from shareguard.signin.oidc import SignInFailed
from shareguard.storage.db import settle


class Answer(NamedTuple):
    """What the provider sent back, with the state this browser was given on the way out."""

    state: str
    browser_state: str | None
    code: str
    error: str


def callback_uri(request: Request, path: str) -> str:
    """The address the provider sends its answer to (the public URL when one is set)."""
    base = request.app.state.settings.public_url or str(request.base_url)
    return base.rstrip("/") + path


def to_provider(
    request: Request,
    session: Any,
    slot: str,
    begin: Callable[[], tuple[str, str]],
    failed: Callable[[SignInFailed], Response],
) -> Response:
    """Begin a sign-in (``begin`` gives the provider's URL and the state) and send the browser
    there, keeping the state in its session under ``slot``; ``failed`` answers a refusal."""
    try:
        url, state = begin()
    except SignInFailed as exc:
        settle(session, exc)
        return failed(exc)
    request.session[slot] = state
    return RedirectResponse(url, status_code=303)


def answer(request: Request, slot: str) -> Answer:
    """The provider's answer in this request, and the state kept under ``slot`` (used up)."""
    query = request.query_params
    return Answer(
        query.get("state", ""),
        request.session.pop(slot, None),
        query.get("code", ""),
        query.get("error", ""),
    )

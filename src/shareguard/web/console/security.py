"""Console sessions: who is signed in, CSRF tokens on every form, role-based navigation."""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from shareguard.accounts.models import Role
from shareguard.accounts.principal import Principal
from shareguard.accounts.service import AccountService
from shareguard.bounds import in_range
from shareguard.errors import Forbidden, NotFound, Unauthenticated
from shareguard.web.deps import (
    STAFF_SLOT,
    SessionDep,
    end_session,
    signed_in_user,
    start_session,
)

SIGNED_IN_MARKER = "sg_was_signed_in"


class CsrfRejected(Forbidden):
    title = "Your form could not be accepted"
    slug = "csrf-rejected"


class SignInRequired(Unauthenticated):
    """Raised by pages that need a signed-in member of staff or partner user."""


class PersonSignInRequired(Unauthenticated):
    """Raised by the person-facing service's pages when nobody is signed in."""


@dataclass(frozen=True)
class ConsoleUser:
    id: uuid.UUID
    name: str
    email: str
    roles: frozenset[str]
    organisation_id: uuid.UUID
    organisation: str
    principal: Principal

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role_names(self) -> str:
        return ", ".join(r.replace("_", " ") for r in sorted(self.roles))


# CSRF ------------------------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (synchroniser-token pattern)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def checked_form(request: Request) -> FormData:
    """The POSTed form, after checking its CSRF token; CsrfRejected (403) otherwise."""
    form = await request.form()
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, str(expected)):
        raise CsrfRejected(
            "the form was missing its security token or the token did not match; "
            "your session may have expired"
        )
    return form


Form = Annotated[FormData, Depends(checked_form)]


def field(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def date_field(form: Mapping[str, Any], prefix: str) -> date | None:
    """A GOV.UK date input (``prefix-day``, ``-month``, ``-year``); None unless a real date
    between 1800 and 2999 (``shareguard.bounds``), so no later sum can overflow."""
    parts = [field(form, f"{prefix}-{p}") for p in ("year", "month", "day")]
    if not all(p.isdigit() and len(p) <= 4 for p in parts):
        return None
    try:
        return in_range(date(*(int(p) for p in parts)))
    except ValueError:
        return None


# signed-in user ----------------------------------------------------------------------------
def load_user(request: Request, session: SessionDep) -> ConsoleUser | None:
    """Attach the signed-in user (if any) to ``request.state``; never raises."""
    request.state.console_user = None
    user_id = signed_in_user(request, session)  # the server-side session, not the cookie's word
    if user_id is None:
        return None
    accounts = AccountService(session)
    try:
        user = accounts.user(user_id)
    except NotFound:
        end_session(request, session, STAFF_SLOT)
        return None
    if not user.active:
        end_session(request, session, STAFF_SLOT)
        return None
    current = ConsoleUser(
        id=user.id,
        name=user.display_name,
        email=user.email,
        roles=frozenset(user.roles),
        organisation_id=user.organisation_id,
        organisation=accounts.organisation(user.organisation_id).name,
        principal=accounts.principal_for_user(user),
    )
    request.state.console_user = current
    return current


MaybeUser = Annotated[ConsoleUser | None, Depends(load_user)]


def require_user(request: Request, user: MaybeUser) -> ConsoleUser:
    if user is None:
        raise SignInRequired("sign in to use this page")
    return user


User = Annotated[ConsoleUser, Depends(require_user)]


def require_roles(*roles: str) -> Any:
    """Dependency: the signed-in user, who must hold one of ``roles`` (403 page otherwise)."""

    def dependency(user: User) -> ConsoleUser:
        user.principal.require(*roles)
        return user

    return Depends(dependency)


Officer = Annotated[ConsoleUser, require_roles(Role.GOVERNANCE_OFFICER)]
Caseworker = Annotated[ConsoleUser, require_roles(Role.CASEWORKER)]
Reviewer = Annotated[ConsoleUser, require_roles(Role.REVIEWER)]
Partner = Annotated[ConsoleUser, require_roles(Role.PARTNER_USER)]
OfficerOrAuditor = Annotated[ConsoleUser, require_roles(Role.GOVERNANCE_OFFICER, Role.AUDITOR)]
#: Who may own and resolve a data-quality finding (the service gives new ones to reviewers).
QualityOwner = Annotated[
    ConsoleUser, require_roles(Role.GOVERNANCE_OFFICER, Role.CASEWORKER, Role.REVIEWER)
]
QualityReader = Annotated[
    ConsoleUser,
    require_roles(Role.GOVERNANCE_OFFICER, Role.AUDITOR, Role.CASEWORKER, Role.REVIEWER),
]


def sign_in(request: Request, session: Session, user_id: uuid.UUID) -> None:
    """Start a fresh session (server-side, new CSRF token) for this user."""
    end_session(request, session, STAFF_SLOT)
    request.session.clear()
    start_session(request, session, user_id=user_id)
    csrf_token(request)


def flash(request: Request, title: str, text: str = "") -> None:
    request.session["flash"] = {"title": title, "text": text}


def pop_flash(request: Request) -> dict[str, str] | None:
    value = request.session.pop("flash", None)
    return value if isinstance(value, dict) else None


# navigation -------------------------------------------------------------------------------
#: (label, href, roles that see it); shown only once a page is mounted at href.
STAFF_NAV: list[tuple[str, str, frozenset[str]]] = [
    (
        "Agreements",
        "/agreements",
        frozenset({Role.GOVERNANCE_OFFICER, Role.AUDITOR, Role.CASEWORKER, Role.REVIEWER}),
    ),
    (
        "Firewall and pauses",
        "/governance/firewall",
        frozenset({Role.GOVERNANCE_OFFICER, Role.AUDITOR}),
    ),
    (
        "Audit log",
        "/governance/audit",
        frozenset({Role.GOVERNANCE_OFFICER, Role.AUDITOR}),
    ),
    (
        "Reports",
        "/governance/reports",
        frozenset({Role.GOVERNANCE_OFFICER, Role.AUDITOR}),
    ),
    (
        "Refused requests",
        "/governance/requests",
        frozenset({Role.GOVERNANCE_OFFICER, Role.AUDITOR}),
    ),
    (
        "Data quality",
        "/governance/quality",
        frozenset({Role.GOVERNANCE_OFFICER, Role.AUDITOR, Role.CASEWORKER, Role.REVIEWER}),
    ),
    ("People", "/casework/people", frozenset({Role.CASEWORKER})),
    ("Requests to partners", "/casework/requests", frozenset({Role.CASEWORKER})),
    ("Inbound information", "/casework/inbound", frozenset({Role.CASEWORKER})),
    ("Contests", "/casework/contests", frozenset({Role.CASEWORKER})),
    ("Watch list", "/casework/watchlist", frozenset({Role.CASEWORKER})),
    ("Review queue", "/review", frozenset({Role.REVIEWER})),
    ("Run a check", "/checks/new", frozenset({Role.PARTNER_USER})),
    ("Check a credential", "/credentials/verify", frozenset({Role.PARTNER_USER})),
    ("Rectification notices", "/notices", frozenset({Role.PARTNER_USER})),
    ("Requests for information", "/requests", frozenset({Role.PARTNER_USER})),
    ("Send records", "/inbound/new", frozenset({Role.PARTNER_USER})),
    ("Match results", "/matches", frozenset({Role.PARTNER_USER})),
    ("Your agreements", "/agreements", frozenset({Role.PARTNER_USER})),
]


def navigation(request: Request, user: ConsoleUser | None) -> list[dict[str, Any]]:
    path = request.url.path
    if path.startswith("/my"):
        return []
    if user is None:
        items = [("Agreements register", "/"), ("Your immigration data", "/my/")]
    else:
        items = [("Home", "/console")]
        seen: set[str] = set()
        for label, href, roles in STAFF_NAV:
            mounted: set[str] = getattr(request.app.state, "console_paths", set())
            if user.has(*roles) and href in mounted and href not in seen:
                items.append((label, href))
                seen.add(href)
    out = []
    for label, href in items:
        current = path == href or (href not in {"/", "/console", "/my/"} and path.startswith(href))
        out.append({"text": label, "href": href, "active": current})
    return out

"""Dependency aliases every route uses: the session, the principal, the services."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from shareguard import telemetry
from shareguard.accounts.principal import Principal
from shareguard.accounts.service import AccountService
from shareguard.agreements.service import AgreementService
from shareguard.errors import Forbidden, Unauthenticated
from shareguard.signin.clients import TOKEN_PREFIX, ClientService
from shareguard.signin.sessions import SessionService
from shareguard.storage.db import settle

#: The cookie's slots for the two kinds of server-side session (staff, person).
STAFF_SLOT, PERSON_SLOT = "sid", "psid"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: commit when the route returns, roll back if it raises.

    Scoped to the route function, so the commit happens before the response is sent: no
    answer leaves without its audit entry being durable. An error raised through
    ``errors.keep_audit`` commits first (a refusal keeps its audit entry), then is answered.
    """
    session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        settle(session, exc)
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def sessions(request: Request, session: Session) -> SessionService:
    idle = timedelta(seconds=request.app.state.settings.session_max_age)
    return SessionService(session, idle=idle)


def _signed_in(request: Request, session: Session, slot: str) -> uuid.UUID | None:
    """Who the cookie's ``slot`` names, if the server still holds that session live."""
    cache = f"sg_{slot}"
    if hasattr(request.state, cache):
        found: uuid.UUID | None = getattr(request.state, cache)
        return found
    token = request.session.get(slot) if "session" in request.scope else None
    row = sessions(request, session).resolve(token) if token else None
    who = (row.user_id if slot == STAFF_SLOT else row.person_id) if row else None
    if token and who is None:
        request.session.pop(slot, None)  # ended, timed out or forged: forget it
    setattr(request.state, cache, who)
    return who


def signed_in_user(request: Request, session: Session) -> uuid.UUID | None:
    """The staff or partner user of this browser's live server-side session, if any."""
    return _signed_in(request, session, STAFF_SLOT)


def signed_in_person(request: Request, session: Session) -> uuid.UUID | None:
    """The person signed in to the person-facing service in this browser, if any."""
    return _signed_in(request, session, PERSON_SLOT)


def start_session(
    request: Request,
    session: Session,
    *,
    user_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
) -> None:
    """Record a new server-side session and put its token (only) in the cookie."""
    slot = STAFF_SLOT if user_id is not None else PERSON_SLOT
    request.session[slot] = sessions(request, session).start(user_id=user_id, person_id=person_id)
    setattr(request.state, f"sg_{slot}", user_id or person_id)


def end_session(request: Request, session: Session, slot: str) -> None:
    """Sign out: the server ends the session, so a saved copy of the cookie is worthless."""
    sessions(request, session).end(request.session.pop(slot, None), "sign_out")
    setattr(request.state, f"sg_{slot}", None)


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: uvicorn's --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def check_cookie_write(request: Request) -> None:
    """A state change authenticated by the console's cookie needs the console's CSRF token
    (header ``X-CSRF-Token``) and, when the browser names one, the same origin; Forbidden
    otherwise. Bearer keys need neither: browsers never attach them on their own."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    expected = str(request.session.get("csrf") or "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "a change made with the console's session needs its CSRF token in the "
            f"{CSRF_HEADER} header; API clients send 'Authorization: Bearer <key>'",
            field=CSRF_HEADER,
        )
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("a change made with the console's session must come from its own origin")


def current_principal(request: Request, session: SessionDep) -> Principal:
    """The caller, from ``Authorization: Bearer <API key or access token>`` or the console
    session cookie. With the cookie, a state change also needs the CSRF header and the same
    origin.
    """
    accounts = AccountService(session)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        if token.startswith(TOKEN_PREFIX):
            return _logged(ClientService(session).authenticate_token(token))
        return _logged(accounts.authenticate_key(token))
    user_id = signed_in_user(request, session)
    if user_id:
        user = accounts.user(user_id)
        if user.active:
            check_cookie_write(request)
            return _logged(accounts.principal_for_user(user))
    raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")


def _logged(principal: Principal) -> Principal:
    """Name the caller's organisation on the request's log lines (an id, never a person)."""
    if principal.organisation_id is not None:
        telemetry.context()["organisation_id"] = str(principal.organisation_id)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class CsvResponse(PlainTextResponse):
    """CSV text, documented as ``text/csv`` (write it with ``shareguard.csvfile``)."""

    media_type = "text/csv"


def allow(*roles: str) -> Any:
    """A route dependency: the caller must hold one of ``roles``, checked before the request
    is validated, so a caller who may not use the endpoint at all gets 403, never 422."""

    def check(principal: CurrentPrincipal) -> None:
        principal.require(*roles)

    return Depends(check)


def account_service(session: SessionDep) -> AccountService:
    return AccountService(session)


def agreement_service(session: SessionDep) -> AgreementService:
    return AgreementService(session)


Accounts = Annotated[AccountService, Depends(account_service)]
Agreements = Annotated[AgreementService, Depends(agreement_service)]


def client_service(session: SessionDep) -> ClientService:
    return ClientService(session)


Clients = Annotated[ClientService, Depends(client_service)]

"""Dependency aliases every route uses: the session, the principal, the services."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.accounts.service import AccountService
from shareguard.agreements.service import AgreementService
from shareguard.errors import Unauthenticated
from shareguard.storage.db import settle


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


def current_principal(request: Request, session: SessionDep) -> Principal:
    """The caller, from ``Authorization: Bearer <API key>`` or the console session cookie."""
    accounts = AccountService(session)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return accounts.authenticate_key(header[7:].strip())
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if user_id:
        user = accounts.user(uuid.UUID(user_id))
        if user.active:
            return accounts.principal_for_user(user)
    raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def account_service(session: SessionDep) -> AccountService:
    return AccountService(session)


def agreement_service(session: SessionDep) -> AgreementService:
    return AgreementService(session)


Accounts = Annotated[AccountService, Depends(account_service)]
Agreements = Annotated[AgreementService, Depends(agreement_service)]

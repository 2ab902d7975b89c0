"""Authorisation requests waiting for the provider's answer, server-side. Never commits.

A request is found by a hash of its ``state``; its nonce and PKCE verifier never leave the
server. Using an answer marks the request used in one conditional UPDATE, so a replayed
``state`` (a second callback, a saved URL, a copied cookie) finds nothing to use.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shareguard.signin.models import OidcRequest
from shareguard.signin.oidc import Pending, SignInFailed, state_hash
from shareguard.storage.base import utcnow

#: How long a person or officer may take at the provider before the request lapses.
REQUEST_SECONDS = 10 * 60


class PendingRequests:
    def __init__(self, session: Session) -> None:
        self.session = session

    def begin(self, kind: str, next_url: str = "", *, now: datetime | None = None) -> Pending:
        """A new request's secrets, stored; requests lapsed for a day are forgotten."""
        now = now or utcnow()
        self.session.execute(
            delete(OidcRequest).where(OidcRequest.expires_at < now - timedelta(days=1))
        )
        pending = Pending.new()
        self.session.add(
            OidcRequest(
                state_hash=state_hash(pending.state),
                kind=kind,
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
                next_url=next_url,
                created_at=now,
                expires_at=now + timedelta(seconds=REQUEST_SECONDS),
            )
        )
        self.session.flush()
        return pending

    def use(
        self, kind: str, state: str, browser_state: str | None, *, now: datetime | None = None
    ) -> tuple[Pending, str]:
        """The request ``state`` answers, used up now; returns its secrets and next URL.

        SignInFailed (``state``) if this browser did not start it, it is unknown, lapsed, of
        another kind, or already used (a replay).
        """
        now = now or utcnow()
        if not state or not browser_state or state != browser_state:
            raise SignInFailed("state", "your sign-in could not be completed; start again")
        row = self.session.execute(
            select(
                OidcRequest.id, OidcRequest.nonce, OidcRequest.code_verifier, OidcRequest.next_url
            ).where(
                OidcRequest.state_hash == state_hash(state),
                OidcRequest.kind == kind,
                OidcRequest.used_at.is_(None),
                OidcRequest.expires_at > now,
            )
        ).one_or_none()
        if row is None:
            raise SignInFailed("state", "your sign-in could not be completed; start again")
        used = self.session.execute(
            update(OidcRequest)
            .where(OidcRequest.id == row.id, OidcRequest.used_at.is_(None))
            .values(used_at=now, nonce="", code_verifier="")
            .execution_options(synchronize_session=False)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise SignInFailed("state", "your sign-in could not be completed; start again")
        return Pending(state, row.nonce, row.code_verifier), row.next_url

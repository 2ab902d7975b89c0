"""Server-side sessions: start, resolve, end one, end all of a user's. Never commits."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shareguard.signin.models import SignInSession
from shareguard.storage.base import utcnow

#: However active, a session ends this long after it started.
ABSOLUTE_LIFETIME = timedelta(hours=12)
#: ``last_seen_at`` is written at most this often (a read-mostly session costs few writes).
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    """Sessions that end when the server says so: signed out, timed out, or ended everywhere."""

    def __init__(self, session: Session, *, idle: timedelta = timedelta(minutes=30)) -> None:
        self.session = session
        self.idle = idle

    def start(
        self,
        *,
        user_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None,
        now: datetime | None = None,
    ) -> str:
        """A new session for a user or a person; returns the token for the cookie (only)."""
        if (user_id is None) == (person_id is None):
            raise ValueError("a session is for one user or one person")
        now = now or utcnow()
        token = secrets.token_urlsafe(32)
        self.session.add(
            SignInSession(
                token_hash=_hash(token),
                user_id=user_id,
                person_id=person_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + ABSOLUTE_LIFETIME,
            )
        )
        self.session.flush()
        return token

    def resolve(self, token: str | None, *, now: datetime | None = None) -> SignInSession | None:
        """The live session for ``token``; None if unknown, ended, idle too long or too old."""
        if not token or not isinstance(token, str):
            return None
        now = now or utcnow()
        row = self.session.scalar(
            select(SignInSession).where(SignInSession.token_hash == _hash(token))
        )
        if row is None or row.ended_at is not None:
            return None
        if row.expires_at <= now or row.last_seen_at + self.idle <= now:
            row.ended_at, row.end_reason = now, "timed_out"
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        return row

    def end(self, token: str | None, reason: str = "sign_out") -> None:
        """End the session ``token`` names (signing out); nothing if there is none."""
        if token and isinstance(token, str):
            self._end(SignInSession.token_hash == _hash(token), reason)

    def end_for_user(self, user_id: uuid.UUID, reason: str) -> int:
        """End every session of a user ("sign out everywhere"); returns how many."""
        return self._end(SignInSession.user_id == user_id, reason)

    def end_for_person(self, person_id: uuid.UUID, reason: str) -> int:
        return self._end(SignInSession.person_id == person_id, reason)

    def _end(self, where: object, reason: str) -> int:
        result = self.session.execute(
            update(SignInSession)
            .where(where, SignInSession.ended_at.is_(None))  # type: ignore[arg-type]
            .values(ended_at=utcnow(), end_reason=reason)
            .execution_options(synchronize_session="fetch")
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

"""Server-side sign-in state: the person's one-time codes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, CreatedMixin, IdMixin


class SignInCode(IdMixin, CreatedMixin, Base):
    """One one-time code sent to a person: its keyed hash, expiry and attempts, never the code."""

    __tablename__ = "sign_in_codes"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    #: HMAC-SHA256 of the code under the deployment's secret, bound to this row's id.
    digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()
    #: Guesses made so far; the code is locked once it reaches ``CODE_TRIES``.
    attempts: Mapped[int] = mapped_column(default=0)
    #: Set when the right code was entered: a code signs in once.
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class SignInSession(IdMixin, CreatedMixin, Base):
    """A signed-in browser, server-side: the cookie carries a random token, this its hash.

    Ending the row ends the session at once, whatever the cookie says: signing out, a
    password change ("sign out everywhere"), or running out of time.
    """

    __tablename__ = "sign_in_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: A member of staff or a partner user (console) ...
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id"), index=True, default=None
    )
    #: ... or the person signed in to the person-facing service.
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id"), index=True, default=None
    )
    last_seen_at: Mapped[datetime] = mapped_column()
    #: The absolute end, however active the session is.
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    #: sign_out | password_change | roles_changed | sign_out_everywhere
    end_reason: Mapped[str | None] = mapped_column(String(30), default=None)


class SignInFailure(IdMixin, Base):
    """One failed sign-in, counted against an account and a client address (both keyed
    hashes: neither an email, a document number nor an address is stored)."""

    __tablename__ = "sign_in_failures"

    #: ``account`` or ``address``.
    scope: Mapped[str] = mapped_column(String(10))
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)

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

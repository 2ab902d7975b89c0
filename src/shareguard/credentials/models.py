"""Issued credentials, so they can be listed, downloaded again, and revoked.

The person's locks live on the status register's ``Person.locks``; their history is the audit
log (``person.lock.set`` / ``person.lock.clear``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, IdMixin


class Credential(IdMixin, Base):
    """One issued credential. ``id`` is the credential id inside the signed document."""

    __tablename__ = "credentials"
    __table_args__ = (Index("ix_credentials_revoked_until", "revoked_at", "valid_until"),)

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column()
    valid_until: Mapped[datetime] = mapped_column()
    #: RFC 7638 thumbprint of the key that signed it (keys can be rotated).
    key_id: Mapped[str] = mapped_column(String(64))
    #: The compact JWS as issued: the person can download or print it again.
    token: Mapped[str] = mapped_column(Text)
    #: The door's disclosure record for the issue (its audit entry carries the payload hash).
    disclosure_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    issued_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id"), default=None
    )
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id"), default=None
    )
    #: A code, not free text: "lost", "status_changed", "person_request", "issued_in_error".
    revocation_reason: Mapped[str] = mapped_column(String(40), default="")

"""Organisations, console users and API keys."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shareguard.storage.base import Base, CreatedMixin, IdMixin


class OrganisationType(enum.StrEnum):
    GOVERNMENT_DEPARTMENT = "government_department"
    AGENCY = "agency"
    NHS_BODY = "nhs_body"
    SCHOOL = "school"
    POLICE_FORCE = "police_force"
    LOCAL_AUTHORITY = "local_authority"
    EMPLOYER = "employer"
    LANDLORD = "landlord"
    BANK = "bank"
    REGULATOR = "regulator"


class Role(enum.StrEnum):
    GOVERNANCE_OFFICER = "governance_officer"
    CASEWORKER = "caseworker"
    REVIEWER = "reviewer"
    PARTNER_USER = "partner_user"
    AUDITOR = "auditor"


class Organisation(IdMixin, CreatedMixin, Base):
    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    #: Where rectification notices are pushed (optional; the pull endpoint always works).
    webhook_url: Mapped[str | None] = mapped_column(String(500), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(String(100), default=None)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(IdMixin, CreatedMixin, Base):
    __tablename__ = "users"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    email: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)

    organisation: Mapped[Organisation] = relationship(back_populates="users")


class ApiKey(IdMixin, CreatedMixin, Base):
    """A credential for an organisation (or one of its users). Only a hash is stored."""

    __tablename__ = "api_keys"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: Set for a user's personal key, which carries that user's roles.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    #: Agreement ids this key may act under; empty means every agreement of its organisation.
    agreement_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

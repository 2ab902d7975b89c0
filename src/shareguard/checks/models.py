"""Checks, the cases they open (referrals and contests), and failed-attempt counters."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, IdMixin, utcnow


class Outcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"
    REFERRED = "referred"
    #: Share code checks only: code or date of birth not recognised (no hint which).
    NO_MATCH = "no_match"


class CaseKind(enum.StrEnum):
    REFERRAL = "referral"
    CONTEST = "contest"


class CaseState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Check(IdMixin, Base):
    """One real-time check. Its id is the check reference the checker keeps as evidence."""

    __tablename__ = "checks"
    __table_args__ = (
        Index("ix_checks_org_at", "organisation_id", "at"),
        # The reports' counts by agreement and outcome read this index in its own order.
        Index("ix_checks_agreement_outcome", "agreement_id", "outcome", "at"),
    )

    at: Mapped[datetime] = mapped_column(default=utcnow)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    purpose: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    #: Internal only (never in an answer unless matched): the person the check concerned.
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id"), default=None, index=True
    )
    score: Mapped[float | None] = mapped_column(default=None)
    disclosure_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    #: The audit entry written with the check (``audit_entries.id``).
    audit_entry_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class Case(IdMixin, Base):
    """A referral or contest a caseworker must answer by ``respond_by``."""

    __tablename__ = "check_cases"
    # The caseworkers' queue: a state's cases in response-date order, a page at a time.
    __table_args__ = (Index("ix_check_cases_state_respond", "state", "respond_by", "opened_at"),)

    check_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checks.id"), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default=CaseState.OPEN, index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    respond_by: Mapped[date] = mapped_column(Date)
    contested_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The person's own words; personal data, never logged or audited.
    statement: Mapped[str] = mapped_column(Text, default="")
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    outcome: Mapped[str] = mapped_column(String(20), default="")
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)


class CheckFailure(Base):
    """One failed share-code attempt. Counting rows (insert-only) is race-free across processes."""

    __tablename__ = "check_failures"
    __table_args__ = (
        Index("ix_check_failures_org_at", "organisation_id", "at"),
        Index("ix_check_failures_code_at", "code_hash", "at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    organisation_id: Mapped[uuid.UUID | None] = mapped_column()
    #: HMAC of the code as typed (whether or not it exists), so guesses at one code count.
    code_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)

"""The status register: persons, their identities, decisions, status records and share codes.

Everything here is append-only. A fact is changed by adding a record that ``supersedes`` the
old one; the current status and the current decision are derived, never stored.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shareguard.storage.base import Base, CreatedMixin, IdMixin, utcnow


class Category(enum.StrEnum):
    """Categories firewall rules protect (their data never serves enforcement)."""

    PUPIL = "pupil"
    PATIENT = "patient"
    VICTIM = "victim"
    WITNESS = "witness"


class DecisionType(enum.StrEnum):
    GRANT = "grant"
    REFUSAL = "refusal"
    CURTAILMENT = "curtailment"


class AppealState(enum.StrEnum):
    NONE = "none"
    LODGED = "lodged"
    PENDING = "pending"
    DECIDED = "decided"


class StatusKind(enum.StrEnum):
    SETTLED = "settled"
    PRE_SETTLED = "pre_settled"
    LIMITED_LEAVE = "limited_leave"
    #: No leave to remain (e.g. leave ended or curtailed). Never inferred from a refusal alone.
    NO_LEAVE = "no_leave"


class NameKind(enum.StrEnum):
    PRIMARY = "primary"
    ALIAS = "alias"
    TRANSLITERATION = "transliteration"


class Person(IdMixin, CreatedMixin, Base):
    """A person in the register. ``str(id)`` is the pseudonymous subject reference in audit."""

    __tablename__ = "persons"

    date_of_birth: Mapped[date] = mapped_column(Date, index=True)
    #: ISO 3166-1 alpha-3 code.
    nationality: Mapped[str] = mapped_column(String(3), default="")
    #: Values from ``Category``; firewall rules read them.
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The person's locks (issue 10), e.g. ``attribute_checks``.
    locks: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Reference to the photo held by the identity service (never the image).
    photo_ref: Mapped[str] = mapped_column(String(64), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")

    names: Mapped[list[PersonName]] = relationship(
        back_populates="person", lazy="selectin", order_by="PersonName.position"
    )
    documents: Mapped[list[PersonDocument]] = relationship(back_populates="person", lazy="selectin")

    def primary_name(self) -> PersonName | None:
        for n in self.names:
            if n.kind == NameKind.PRIMARY:
                return n
        return self.names[0] if self.names else None


class PersonName(IdMixin, Base):
    """One name a person is known by: the primary name, an alias or a transliteration."""

    __tablename__ = "person_names"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    given: Mapped[str] = mapped_column(String(200))
    family: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default=NameKind.PRIMARY)
    #: Unicode script of the name as written: Latin, Cyrillic, Arabic, Han, ...
    script: Mapped[str] = mapped_column(String(20), default="Latin")
    position: Mapped[int] = mapped_column(default=0)

    person: Mapped[Person] = relationship(back_populates="names")

    @property
    def full(self) -> str:
        return f"{self.given} {self.family}".strip()


class PersonDocument(IdMixin, Base):
    """An identity document's number (passport, biometric residence permit, national id)."""

    __tablename__ = "person_documents"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="passport")
    #: Normalised: upper case, letters and digits only.
    number: Mapped[str] = mapped_column(String(40), index=True)
    issuing_country: Mapped[str] = mapped_column(String(3), default="")

    person: Mapped[Person] = relationship(back_populates="documents")


class MatchKey(Base):
    """Blocking keys for candidate retrieval: a check looks up a few keys, never scans persons."""

    __tablename__ = "person_match_keys"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), primary_key=True)


class ImmigrationDecision(IdMixin, Base):
    """An immigration decision with its appeal state; corrected by a superseding row."""

    __tablename__ = "immigration_decisions"
    __table_args__ = (
        Index("ix_immigration_decisions_person_recorded", "person_id", "recorded_at"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    type: Mapped[str] = mapped_column(String(20))
    decided_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text, default="")
    appeal_state: Mapped[str] = mapped_column(String(10), default=AppealState.NONE)
    final: Mapped[bool] = mapped_column(default=False)
    appeal_window_end: Mapped[date | None] = mapped_column(Date, default=None)
    #: This row overturns the decision it supersedes (appeal allowed, error found), so the
    #: earlier decision was wrong, not merely updated; reports count these.
    overturned: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(100), default="")
    evidence_ref: Mapped[str] = mapped_column(String(200), default="")
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("immigration_decisions.id"), default=None, index=True
    )
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusRecord(IdMixin, Base):
    """One versioned fact about a person's status, with its source, evidence and author."""

    __tablename__ = "status_records"
    __table_args__ = (Index("ix_status_records_person_recorded", "person_id", "recorded_at"),)

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    kind: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)
    #: Conditions on limited leave: True means allowed.
    may_work: Mapped[bool] = mapped_column(default=True)
    work_conditions: Mapped[str] = mapped_column(String(300), default="")
    may_rent: Mapped[bool] = mapped_column(default=True)
    may_study: Mapped[bool] = mapped_column(default=True)
    public_funds: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(100), default="")
    evidence_ref: Mapped[str] = mapped_column(String(200), default="")
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("status_records.id"), default=None, index=True
    )
    #: Why the record was added: "grant", "correction", "variation", ...
    reason: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


class ShareCode(IdMixin, CreatedMixin, Base):
    """A person-issued code for one purpose. Only an HMAC of the code is stored."""

    __tablename__ = "share_codes"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Last three characters, so the person can tell their codes apart.
    hint: Mapped[str] = mapped_column(String(3), default="")

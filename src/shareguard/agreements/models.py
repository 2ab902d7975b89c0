"""The register of data-sharing agreements, its parties and its lifecycle history."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shareguard.storage.base import Base, CreatedMixin, IdMixin, utcnow


class AgreementState(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class Agreement(IdMixin, CreatedMixin, Base):
    """One data-sharing agreement; fields follow the ICO Data Sharing Code checklist."""

    __tablename__ = "agreements"

    reference: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default=AgreementState.DRAFT, index=True)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    data_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Proactive bulk sharing (match runs) rather than answering checks only.
    bulk: Mapped[bool] = mapped_column(default=False)
    legal_gateway_statute: Mapped[str] = mapped_column(String(300), default="")
    legal_gateway_section: Mapped[str] = mapped_column(String(100), default="")
    lawful_basis: Mapped[str] = mapped_column(String(100), default="")
    special_category_condition: Mapped[str] = mapped_column(String(200), default="")
    dpia_reference: Mapped[str] = mapped_column(String(100), default="")
    dpia_date: Mapped[date | None] = mapped_column(default=None)
    necessity_statement: Mapped[str] = mapped_column(Text, default="")
    data_standards: Mapped[str] = mapped_column(Text, default="")
    rights_handling: Mapped[str] = mapped_column(Text, default="")
    contact_point: Mapped[str] = mapped_column(String(300), default="")
    #: The explanation people read; ``retention_rules`` is what is enforced.
    retention: Mapped[str] = mapped_column(Text, default="")
    #: Kind of record -> ISO 8601 period and event, e.g. ``{"check": "P1Y after check"}``
    #: (``agreements.retention``; enforced by ``shareguard.retention``).
    retention_rules: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    security_measures: Mapped[str] = mapped_column(Text, default="")
    frequency: Mapped[str] = mapped_column(String(100), default="")
    limit_per_day: Mapped[int | None] = mapped_column(default=None)
    limit_per_run: Mapped[int | None] = mapped_column(default=None)
    start_date: Mapped[date | None] = mapped_column(default=None)
    end_date: Mapped[date | None] = mapped_column(default=None)
    review_date: Mapped[date | None] = mapped_column(default=None)
    termination_procedure: Mapped[str] = mapped_column(Text, default="")
    amendment_duty: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    signed_off_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    signed_off_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_maker: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parties: Mapped[list[AgreementParty]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", lazy="selectin"
    )
    events: Mapped[list[AgreementEvent]] = relationship(
        back_populates="agreement", order_by="AgreementEvent.at"
    )

    def recipients(self) -> list[uuid.UUID]:
        return [p.organisation_id for p in self.parties if p.role == "recipient"]

    def disclosers(self) -> list[uuid.UUID]:
        return [p.organisation_id for p in self.parties if p.role == "discloser"]

    def review_lapsed(self, on: date) -> bool:
        return self.review_date is not None and self.review_date < on

    def in_force(self, on: date) -> bool:
        """Active, signed off, started, not ended, not past review: may permit anything."""
        return (
            self.state == AgreementState.ACTIVE
            and self.signed_off_by is not None
            and (self.start_date is None or self.start_date <= on)
            and (self.end_date is None or on <= self.end_date)
            and not self.review_lapsed(on)
        )


class AgreementParty(IdMixin, Base):
    __tablename__ = "agreement_parties"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: ``discloser`` or ``recipient``.
    role: Mapped[str] = mapped_column(String(20))
    #: ``controller``, ``joint_controller`` or ``processor``.
    controller_role: Mapped[str] = mapped_column(String(20), default="controller")

    agreement: Mapped[Agreement] = relationship(back_populates="parties")


class AgreementEvent(IdMixin, Base):
    """Append-only lifecycle history: who moved the agreement, when, why."""

    __tablename__ = "agreement_events"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(10), default=None)
    to_state: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Agreement] = relationship(back_populates="events")

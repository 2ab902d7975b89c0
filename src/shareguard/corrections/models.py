"""Corrections, the rectification notices they send, webhook deliveries and person notices."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, CreatedMixin, IdMixin, utcnow


class CorrectionState(enum.StrEnum):
    #: Lifts an adverse action: waits for a second caseworker.
    PENDING_APPROVAL = "pending_approval"
    APPLIED = "applied"
    REJECTED = "rejected"


class TargetKind(enum.StrEnum):
    STATUS_RECORD = "status_record"
    DECISION = "decision"


class Correction(IdMixin, CreatedMixin, Base):
    """A caseworker's correction of one status record or decision, with reason and evidence."""

    __tablename__ = "corrections"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    target_kind: Mapped[str] = mapped_column(String(20))
    #: The wrong record (kept: history is never overwritten).
    target_id: Mapped[uuid.UUID] = mapped_column(index=True)
    #: The superseding record, once applied.
    new_record_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    #: Field values the superseding record changes (the rest are copied from the wrong one).
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text)
    evidence_ref: Mapped[str] = mapped_column(String(200))
    expected_action: Mapped[str] = mapped_column(Text)
    deadline_days: Mapped[int] = mapped_column(default=14)
    lifts_adverse_action: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(20), default=CorrectionState.APPLIED, index=True)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    applied_at: Mapped[datetime | None] = mapped_column(default=None)


class RectificationNotice(IdMixin, CreatedMixin, Base):
    """One notice to one recipient organisation of data later corrected (UK GDPR Art 19).

    It names the recipient's own disclosures and what to do; it carries no personal data
    beyond those references, so sending it discloses nothing new.
    """

    __tablename__ = "rectification_notices"
    __table_args__ = (
        Index("ix_rectification_notices_org_ack", "organisation_id", "acknowledged_at"),
        # A recipient's notices newest first, a page at a time.
        Index("ix_rectification_notices_org_created", "organisation_id", "created_at"),
    )

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    correction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("corrections.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    #: Agreements the wrong data went out under (ids as strings).
    agreement_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    disclosure_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    disclosure_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: When the recipient first received the wrong data: time to rectify starts here.
    first_disclosed_at: Mapped[datetime] = mapped_column()
    what_changed: Mapped[str] = mapped_column(Text)
    expected_action: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by_user: Mapped[uuid.UUID | None] = mapped_column(default=None)
    acknowledged_by_key: Mapped[uuid.UUID | None] = mapped_column(default=None)
    acknowledgement_note: Mapped[str] = mapped_column(Text, default="")
    #: Set when the deadline passed unacknowledged and the governance officer was alerted.
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)


class NoticeDisclosure(Base):
    """One disclosure a rectification notice withdrew: its ``disclosure_ids``, a row each.

    The indexed form of what the notice names, so "was this disclosure withdrawn?" (an
    adverse action overturned) and "which notices concern this agreement?" are index
    look-ups rather than a read of every notice's JSON.
    """

    __tablename__ = "notice_disclosures"
    __table_args__ = (Index("ix_notice_disclosures_agreement_notice", "agreement_id", "notice_id"),)

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rectification_notices.id"), primary_key=True
    )
    disclosure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    #: The agreement the withdrawn disclosure went out under (None: none named).
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


def withdrawn(disclosure_id: Any) -> Any:
    """SQL: a rectification notice has withdrawn this disclosure (an indexed EXISTS).

    Beside its table so readers (the reports) ask it without loading the service."""
    return (
        select(NoticeDisclosure.notice_id)
        .where(NoticeDisclosure.disclosure_id == disclosure_id)
        .exists()
    )


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(IdMixin, CreatedMixin, Base):
    """A push of one notice to its recipient's webhook, retried with exponential backoff."""

    __tablename__ = "webhook_deliveries"

    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rectification_notices.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    state: Mapped[str] = mapped_column(String(10), default=DeliveryState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    #: An exception class name or HTTP status, never a response body.
    last_error: Mapped[str] = mapped_column(String(200), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class PersonNotice(IdMixin, CreatedMixin, Base):
    """What the person is told: their record was corrected and recipients were notified."""

    __tablename__ = "person_notices"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    correction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("corrections.id"))
    message: Mapped[str] = mapped_column(Text)
    recipients_notified: Mapped[int] = mapped_column(default=0)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class CorrectionRequest(IdMixin, Base):
    """A person's request to correct their record, open until a caseworker answers it."""

    __tablename__ = "correction_requests"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    what_is_wrong: Mapped[str] = mapped_column(Text)
    correct_value: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="open", index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    respond_by: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    response: Mapped[str] = mapped_column(Text, default="")

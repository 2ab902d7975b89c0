"""Requests to partners, their answers and webhook deliveries; data partners send in."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, CreatedMixin, IdMixin


class RequestState(enum.StrEnum):
    #: The door refused it: the partner never saw it.
    REFUSED = "refused"
    #: Waiting for the partner's answer.
    OPEN = "open"
    ANSWERED = "answered"
    NOT_HELD = "not_held"
    #: The partner refused to answer, with a reason.
    DECLINED = "declined"
    #: The partner's answer was refused by the door (e.g. it carried a firewalled item).
    ANSWER_REFUSED = "answer_refused"


class ExchangeRequest(IdMixin, CreatedMixin, Base):
    """One request from the operator to a partner for named data items about one person."""

    __tablename__ = "exchange_requests"
    __table_args__ = (Index("ix_exchange_requests_partner_state", "partner_org_id", "state"),)

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    #: The organisation asking (it receives the answer) and the partner asked (it discloses).
    requester_org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), default=None
    )
    requester_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id"), default=None
    )
    partner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    data_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    proportionality: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), index=True)
    #: The door's decision on the request (and on the answer, when that was refused).
    decision_kind: Mapped[str] = mapped_column(String(20))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    #: The audit entry of the request (``audit_entries.id``).
    request_entry_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    request_disclosure_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    deadline: Mapped[datetime | None] = mapped_column(default=None, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_by_user: Mapped[uuid.UUID | None] = mapped_column(default=None)
    answered_by_key: Mapped[uuid.UUID | None] = mapped_column(default=None)
    #: The minimised answer (the agreement's data items only); None until answered with data.
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    #: Names of the fields the partner sent that minimising dropped.
    dropped: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The partner's reason for declining, or its note on "not held".
    answer_note: Mapped[str] = mapped_column(Text, default="")
    #: The audit entry of the answer (``audit_entries.id``).
    answer_entry_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    answer_disclosure_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class RequestDelivery(IdMixin, CreatedMixin, Base):
    """A push of one request (or its reminder) to the partner's webhook, retried with backoff."""

    __tablename__ = "exchange_deliveries"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_requests.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    #: request | reminder
    event: Mapped[str] = mapped_column(String(20), default="request")
    state: Mapped[str] = mapped_column(String(10), default=DeliveryState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class InboundBatch(IdMixin, CreatedMixin, Base):
    """One submission by a partner: a single record through the API, or a file."""

    __tablename__ = "inbound_batches"

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    discloser_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    recipient_org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), default=None
    )
    #: api | file
    source: Mapped[str] = mapped_column(String(10))
    file_name: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    #: quarantine (keep good rows, list the rest) | reject (one bad row refuses the file)
    mode: Mapped[str] = mapped_column(String(12), default="reject")
    rows: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    #: Rows the door refused (firewall, limits, ...): audited, nothing kept.
    refused: Mapped[int] = mapped_column(default=0)
    #: Malformed rows left out (line, column, reason in ``errors``).
    quarantined: Mapped[int] = mapped_column(default=0)
    #: Up to 1,000 problems: {"line", "column", "reason"}; never a value.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Refusals by kind (firewall, limit, ...), for reports.
    refusals: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    submitted_by_user: Mapped[uuid.UUID | None] = mapped_column(default=None)
    submitted_by_key: Mapped[uuid.UUID | None] = mapped_column(default=None)


class InboundState(enum.StrEnum):
    #: Landed in the caseworkers' queue: information, not a fact about the person.
    UNVERIFIED = "unverified"
    #: A caseworker proposes it is accurate; a second caseworker must verify it.
    PROPOSED = "proposed"
    VERIFIED = "verified"
    DISMISSED = "dismissed"


class InboundRecord(IdMixin, CreatedMixin, Base):
    """One accepted record from a partner, minimised to the agreement's data items."""

    __tablename__ = "inbound_records"
    # The caseworkers' queue: a state's records newest first, a page at a time.
    __table_args__ = (Index("ix_inbound_records_state_created", "state", "created_at"),)

    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbound_batches.id"), index=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    discloser_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    recipient_org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), default=None
    )
    #: The partner's own reference for the record, and the file line it came from.
    partner_record_id: Mapped[str] = mapped_column(String(100), default="")
    line: Mapped[int | None] = mapped_column(default=None)
    #: The person the record is about, when it matched exactly one person in the register.
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id"), default=None, index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dropped: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Data-quality findings on the record: {"rule", "message", "severity"}.
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(12), default=InboundState.UNVERIFIED, index=True)
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    proposed_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    disclosure_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    audit_entry_id: Mapped[uuid.UUID | None] = mapped_column(default=None)

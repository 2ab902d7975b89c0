"""Firewall rules and their two-officer changes, pauses, disclosures and the policy generation."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, CreatedMixin, IdMixin, utcnow


class FirewallRule(IdMixin, CreatedMixin, Base):
    """A forbid rule no agreement overrides. Changed only through an approved FirewallChange."""

    __tablename__ = "firewall_rules"

    key: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Subject categories the rule protects (pupil, patient, victim, witness).
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Data items the rule protects (school_census, health_record, crime_report).
    data_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Purposes guarded; empty means every immigration-enforcement purpose.
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Actions guarded; empty means all.
    actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Organisation types whose data the rule protects whichever way it flows (nhs_body,
    #: school); empty means the rule looks only at categories and data items.
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FirewallChange(IdMixin, CreatedMixin, Base):
    """A proposed change to the firewall; applied only when a second officer approves it."""

    __tablename__ = "firewall_changes"

    #: create | update | retire
    operation: Mapped[str] = mapped_column(String(10))
    rule_key: Mapped[str] = mapped_column(String(60), index=True)
    #: The rule's fields after the change (create/update).
    proposed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text)
    #: pending | approved | rejected
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")


class Pause(IdMixin, CreatedMixin, Base):
    """A temporary forbid with a scope, a reason, an owner and a window."""

    __tablename__ = "pauses"

    title: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    #: Agreement ids in scope; empty means every agreement.
    agreement_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Person predicate, computed at decision time: aged over / under N on the decision date.
    age_over: Mapped[int | None] = mapped_column(default=None)
    age_under: Mapped[int | None] = mapped_column(default=None)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    lifted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    lift_reason: Mapped[str] = mapped_column(Text, default="")


class Disclosure(IdMixin, Base):
    """One permitted disclosure: what left, to whom, under which agreement, with its audit seq.

    Holds the payload's hash, never the payload: the answer itself is not kept here.
    """

    __tablename__ = "disclosures"
    __table_args__ = (
        Index("ix_disclosures_agreement_at", "agreement_id", "at"),
        # The reports' per-day counts read this index in its own order (no sort, no table).
        Index("ix_disclosures_agreement_day", "agreement_id", "day", "kind", "purpose"),
    )

    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The UTC calendar day of ``at`` (reports count by day without computing it per row).
    day: Mapped[date] = mapped_column()
    #: check_answer | match_result | export | credential | request | answer | inbound
    kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20), default="check")
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agreements.id"), default=None
    )
    purpose: Mapped[str] = mapped_column(String(40))
    #: The organisation the data flowed from (the agreement's discloser).
    discloser_org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), default=None, index=True
    )
    recipient_org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), default=None, index=True
    )
    subject_ref: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    data_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    payload_hash: Mapped[str] = mapped_column(String(64))
    #: The audit entry written with this disclosure (``audit_entries.id``).
    audit_entry_id: Mapped[uuid.UUID] = mapped_column()
    record_refs: Mapped[list[str]] = mapped_column(JSON, default=list)


class DisclosureCount(Base):
    """Disclosures per agreement per (UTC) day, counted up in the disclosing transaction.

    The daily volume limit sums these few rows instead of counting the day's disclosures.
    Each day's count is spread over ``door.COUNT_SLOTS`` rows (``slot``), each disclosing
    transaction adding to one at random: one row would be locked by every check under the
    agreement from its count to its commit, queueing all of them (on PostgreSQL, across
    workers) as a log-wide lock would.
    """

    __tablename__ = "disclosure_counts"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True, default=0)
    count: Mapped[int] = mapped_column(default=0)


class PolicyGeneration(Base):
    """One row whose token changes whenever anything a policy is compiled from changes.

    A random token, not a counter, so that caches in other processes (and test databases
    emptied between tests) can never mistake a new register for an old one.
    """

    __tablename__ = "policy_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(36))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

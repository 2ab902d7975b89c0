"""The data-quality queue: runs of the rules and the findings they raise."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, CreatedMixin, IdMixin, utcnow


class FindingState(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class QualityRun(IdMixin, Base):
    __tablename__ = "quality_runs"

    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    #: ``on_demand`` or ``schedule``.
    trigger: Mapped[str] = mapped_column(String(20), default="on_demand")
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Counts by rule of findings seen (new and already open).
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    new_findings: Mapped[int] = mapped_column(default=0)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)


class QualityFinding(IdMixin, CreatedMixin, Base):
    """One problem in the register, queued to an owner with a due date until resolved."""

    __tablename__ = "quality_findings"
    # The queue: a state's findings most urgent first, a page at a time.
    __table_args__ = (Index("ix_quality_findings_state_due", "state", "due_date", "id"),)

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quality_runs.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40), index=True)
    record_kind: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    #: Ids and field names only, never values.
    message: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10), default="medium")
    state: Mapped[str] = mapped_column(String(10), default=FindingState.OPEN, index=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    due_date: Mapped[date] = mapped_column(Date)
    #: Watch-list entry ids this finding suspended (resumed when it is resolved).
    suspended_entries: Mapped[list[str]] = mapped_column(JSON, default=list)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")

"""Legal holds, retention runs and the erasures each run made.

Nothing here holds personal data: ids, kinds, counts and times. A hold's reason is staff's
own words and stays here, never in the audit log or application logs.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, IdMixin, utcnow


class LegalHold(IdMixin, Base):
    """A hold on one person's or one agreement's records: retention deletes none of them."""

    __tablename__ = "legal_holds"

    #: Exactly one of the two is set.
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id"), default=None, index=True
    )
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agreements.id"), default=None, index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    released_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    release_reason: Mapped[str] = mapped_column(Text, default="")


class RunState(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"


class RetentionRun(IdMixin, Base):
    """One retention run. Its cutoffs come from ``as_of``, so a resumed run keeps them."""

    __tablename__ = "retention_runs"

    as_of: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(10), default=RunState.RUNNING, index=True)
    #: An agreement's reference when the run covers that agreement only ("" for all rules).
    scope: Mapped[str] = mapped_column(String(40), default="")
    #: Batches done so far (each one its own unit of work; a resumed run goes on counting).
    batches: Mapped[int] = mapped_column(default=0)
    #: {agreement reference or "-": {kind: records}}: what the run erased.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The same shape: records past their period kept under a legal hold (or still in use).
    held: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    #: The run's ``retention.run`` audit entry, written when it finishes.
    audit_entry_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class Erasure(Base):
    """One record a run erased (deleted or pseudonymised), and the audit entry it belonged to.

    "Who checked my data" reads these by audit entry to say "details deleted on DATE under the
    retention rule of AGREEMENT"; the per-agreement report counts them. A record with two
    audit entries (a request and its answer) has two rows, ``part`` 0 and 1.
    """

    __tablename__ = "retention_erasures"
    __table_args__ = (
        UniqueConstraint("kind", "record_id", "part"),
        Index("ix_retention_erasures_agreement_at", "agreement_id", "at"),
    )

    #: A number, not a UUID: a run inserts many rows with one INSERT ... SELECT.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("retention_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[uuid.UUID] = mapped_column()
    part: Mapped[int] = mapped_column(default=0)
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agreements.id"), default=None
    )
    audit_entry_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)

"""Audit log tables: entries (leaves), subtree hashes, the head, checkpoints, exemptions.

The entries deliberately carry no foreign keys: the log must outlive the organisations,
agreements and people it names, and a retention deletion elsewhere must never touch it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, IdMixin, new_id, utcnow

# On SQLite only "INTEGER PRIMARY KEY" aliases the rowid (no second index, fewer bytes).
BigInt = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    """One leaf of the log: a decision or disclosure, attributed, pseudonymous, hashed.

    Written in the caller's transaction with ``seq`` and ``leaf_hash`` empty; the integrator
    fills both, once, after the row has committed (``log.integrate``).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        # Entries waiting for the integrator. Small: an entry leaves it once integrated.
        # (SQLite finds them through the unique index on seq, in rowid = commit order.)
        Index(
            "ix_audit_entries_pending",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
        # Reports count refusals (``policy.deny``) and reconcile with the log by action and
        # agreement: an index lookup, not a scan of the whole log.
        Index("ix_audit_entries_action_agreement", "action", "agreement_id"),
    )

    #: The entry's handle from the moment it is written (UUIDv7); a check's answer names it.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    #: 0-based leaf index, gap-free; empty until the integrator gives it.
    seq: Mapped[int | None] = mapped_column(BigInt, unique=True, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(80))
    actor_org_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    purpose: Mapped[str | None] = mapped_column(String(60), default=None)
    #: Pseudonymous: ``str(person.id)``; never a name or document number.
    subject_ref: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    decision: Mapped[str | None] = mapped_column(String(20), default=None)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Hex SHA-256 of the canonical JSON of what was disclosed (``payload_hash``).
    payload_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: RFC 9162 leaf hash of the entry's canonical bytes (``log.entry_bytes``), seq included;
    #: empty until integrated.
    leaf_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)


class AuditNode(Base):
    """Hash of one complete, aligned subtree of 2**level leaves (level >= 1).

    ``pos`` is the subtree's in-order position in the full binary tree,
    ``(index << (level + 1)) + (1 << level) - 1``: one integer key per node, so SQLite stores
    the node in its rowid b-tree with no extra index.
    """

    __tablename__ = "audit_nodes"

    pos: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHead(Base):
    """The log's size, one row: updated with every append, so a row slipped in by SQL shows."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInt, default=0)


class AuditCheckpoint(Base):
    """A signed tree head, kept as the exact signed note that was issued."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInt, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    origin: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(8))
    #: The C2SP signed note (checkpoint body, blank line, signature lines).
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditExemption(IdMixin, Base):
    """An exemption from subject access applied to one entry, approved by a second person."""

    __tablename__ = "audit_exemptions"

    entry_seq: Mapped[int] = mapped_column(ForeignKey("audit_entries.seq"), index=True)
    #: e.g. "DPA 2018 Sch 2 para 4 (immigration)".
    exemption: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

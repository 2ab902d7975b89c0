"""Bulk matching: the gated watch list, partner datasets, match runs, candidates, reviews
and adverse actions reported back by partners.

Reviews and adverse actions are append-only; a candidate's review state is derived from them.
Nothing here holds a partner record's personal data: datasets live in Parquet files under the
data directory, candidates hold the two ids, the scores and the explanation.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shareguard.storage.base import Base, CreatedMixin, IdMixin, utcnow


class EntryState(enum.StrEnum):
    #: Proposed by a caseworker; waits for a second caseworker's verification.
    PROPOSED = "proposed"
    #: Verified and through the gate: may be matched and shared under the agreement.
    ACTIVE = "active"
    #: The gate refused it (reasons kept).
    REFUSED = "refused"
    #: Left the list (status granted, decision overturned, correction, ...).
    LEFT = "left"


class WatchlistEntry(IdMixin, CreatedMixin, Base):
    """One person on one agreement's watch list, with the evidence and who approved it."""

    __tablename__ = "watchlist_entries"
    __table_args__ = (
        Index("ix_watchlist_entries_agreement_state", "agreement_id", "state"),
        # The caseworkers' pages: a state's entries oldest first, a page at a time.
        Index("ix_watchlist_entries_state_created", "state", "created_at", "id"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    #: The final decision the entry rests on.
    decision_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("immigration_decisions.id"), default=None
    )
    state: Mapped[str] = mapped_column(String(10), default=EntryState.PROPOSED)
    evidence_ref: Mapped[str] = mapped_column(String(200), default="")
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    verified_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Gate reason codes when refused (see ``watchlist.REASONS``).
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The gate's findings at verification: the facts it checked (ids and codes only).
    gate_evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    left_at: Mapped[datetime | None] = mapped_column(default=None)
    left_reason: Mapped[str] = mapped_column(String(200), default="")


class PartnerDataset(IdMixin, CreatedMixin, Base):
    """A partner's imported file: validated rows in Parquet, bad rows reported (never stored)."""

    __tablename__ = "partner_datasets"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), default=None
    )
    name: Mapped[str] = mapped_column(String(200))
    source_format: Mapped[str] = mapped_column(String(10))
    #: Canonical column -> the file's column.
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: ``reject`` or ``quarantine``.
    mode: Mapped[str] = mapped_column(String(12), default="reject")
    path: Mapped[str] = mapped_column(String(500))
    quarantine_path: Mapped[str | None] = mapped_column(String(500), default=None)
    rows: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)


class RunState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class MatchRun(IdMixin, CreatedMixin, Base):
    """One bulk comparison of the watch list with a partner dataset under an agreement."""

    __tablename__ = "match_runs"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_datasets.id"))
    #: ``current`` or the name of the file of person ids the run was limited to.
    watchlist_source: Mapped[str] = mapped_column(String(200), default="current")
    backend: Mapped[str] = mapped_column(String(10), default="duckdb")
    threshold: Mapped[float] = mapped_column(default=0.95)
    review_threshold: Mapped[float] = mapped_column(default=0.5)
    two_person_rule: Mapped[bool] = mapped_column(default=True)
    state: Mapped[str] = mapped_column(String(10), default=RunState.QUEUED, index=True)
    stage: Mapped[str] = mapped_column(String(60), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    out_dir: Mapped[str] = mapped_column(String(500), default="")
    #: Counts only: watch list size, kept out, partner rows, candidates, disclosed, refused.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    #: The earlier run (same agreement) whose trained model this run scored with, instead of
    #: training its own; None: trained afresh.
    model_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("match_runs.id"), default=None
    )
    started_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    started_org: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), default=None
    )
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class ReviewOutcome(enum.StrEnum):
    SAME = "same"
    NOT_SAME = "not_same"
    NEED_INFO = "need_info"


class Candidate(IdMixin, Base):
    """A candidate match: watch-list person × partner record, its score and explanation."""

    __tablename__ = "match_candidates"
    __table_args__ = (
        UniqueConstraint("run_id", "person_id", "partner_record_id"),
        Index("ix_match_candidates_run_review", "run_id", "review_state"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("match_runs.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    partner_record_id: Mapped[str] = mapped_column(String(100))
    match_probability: Mapped[float] = mapped_column()
    match_weight: Mapped[float] = mapped_column()
    #: Splink's waterfall: the prior, then each comparison's level and match weight.
    explanation: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: ``match`` (at or above the run's threshold) or ``possible`` (review threshold).
    band: Mapped[str] = mapped_column(String(10))
    #: pending | same | not_same | need_info (derived from reviews; kept for the queue's index).
    review_state: Mapped[str] = mapped_column(String(10), default="pending")
    disclosure_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    #: Why the policy refused to disclose it (plain English, no personal data).
    refused_reason: Mapped[str] = mapped_column(String(300), default="")

    reviews: Mapped[list[Review]] = relationship(order_by="Review.at", lazy="selectin")


# The review queue: a state's candidates strongest first, a page at a time.
Index(
    "ix_match_candidates_review_queue",
    Candidate.review_state,
    Candidate.match_probability.desc(),
    Candidate.id,
)


class Review(IdMixin, Base):
    """A reviewer's decision on a candidate. Append-only: a later review adds a row."""

    __tablename__ = "match_reviews"

    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("match_candidates.id"), index=True)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    outcome: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AdverseAction(IdMixin, Base):
    """An adverse outcome a partner reports it took on a reviewed match, with the contest route."""

    __tablename__ = "adverse_actions"

    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("match_candidates.id"), index=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), default=None
    )
    #: licence_revoked | account_closed | benefit_stopped | other
    kind: Mapped[str] = mapped_column(String(30))
    #: How the person was told they can contest it (required).
    contest_route: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)

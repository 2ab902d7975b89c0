"""API shapes for bulk matching."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shareguard.matching.models import EntryState, RunState


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    agreement_id: uuid.UUID
    name: str
    source_format: str
    mode: str
    rows: int
    quarantined: int
    sha256: str
    created_at: datetime


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement_id: uuid.UUID
    dataset_id: uuid.UUID
    #: Limit to these persons; omit for the whole current watch list.
    person_ids: list[uuid.UUID] | None = Field(default=None, max_length=1_000_000)
    threshold: float = Field(0.95, gt=0, le=1)
    review_threshold: float = Field(0.5, gt=0, le=1)
    backend: Literal["duckdb", "spark"] = "duckdb"
    two_person_rule: bool = True
    #: Score with this earlier run's trained model (same agreement) instead of training.
    model_from: uuid.UUID | None = None


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    agreement_id: uuid.UUID
    dataset_id: uuid.UUID
    watchlist_source: str
    backend: str
    threshold: float
    review_threshold: float
    two_person_rule: bool
    #: The earlier run whose trained model this run scored with (None: trained its own).
    model_run_id: uuid.UUID | None = None
    state: RunState
    stage: str
    progress: float
    counts: dict[str, Any]
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class CandidateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    run_id: uuid.UUID
    person_id: uuid.UUID
    partner_record_id: str
    match_probability: float
    match_weight: float
    band: str
    review_state: str
    explanation: list[Any]
    disclosed: bool = False


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["same", "not_same", "need_info"]
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class AdverseActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["licence_revoked", "account_closed", "benefit_stopped", "other"]
    contest_route: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class AdverseActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    candidate_id: uuid.UUID
    agreement_id: uuid.UUID
    kind: str
    contest_route: str
    reported_at: datetime


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement_id: uuid.UUID
    person_id: uuid.UUID
    decision_id: uuid.UUID
    evidence_ref: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class LeaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    agreement_id: uuid.UUID
    person_id: uuid.UUID
    decision_id: uuid.UUID | None
    state: EntryState
    evidence_ref: str
    proposed_by: uuid.UUID | None
    verified_by: uuid.UUID | None
    verified_at: datetime | None
    reasons: list[str]
    left_at: datetime | None
    left_reason: str

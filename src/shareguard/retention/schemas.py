"""API types for retention: legal holds, the dry run, the per-agreement report."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

#: {agreement reference (or "-" for the operator's own rules): {kind of record: records}}
Counts = dict[str, dict[str, int]]


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    person_id: uuid.UUID | None = Field(None, description="Hold one person's records")
    agreement: str | None = Field(
        None, max_length=40, description="Or every record of one agreement (reference or id)"
    )
    reason: str = Field(min_length=3, max_length=2000, description="Kept on the hold, never logged")


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=3, max_length=2000)


class HoldOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID | None
    agreement_id: uuid.UUID | None
    reason: str
    placed_by: uuid.UUID | None
    placed_at: datetime
    released_by: uuid.UUID | None
    released_at: datetime | None
    release_reason: str


class PlanOut(BaseModel):
    """The dry run: what a run now would erase and keep."""

    as_of: datetime
    would_erase: Counts
    held: Counts = Field(description="Past their period but under a legal hold or in use")


class ErasedOut(BaseModel):
    kind: str
    title: str
    records: int
    first: datetime
    last: datetime


class AgreementRetentionOut(BaseModel):
    reference: str
    explanation: str
    rules: dict[str, str]
    erased: list[ErasedOut]


class RunOut(BaseModel):
    id: uuid.UUID
    state: str
    as_of: datetime
    scope: str | None = Field(None, description="The one agreement the run covered, if any")
    started_at: datetime
    finished_at: datetime | None
    batches: int
    erased: Counts
    held: Counts


class ReportOut(BaseModel):
    agreements: list[AgreementRetentionOut]
    runs: list[RunOut]

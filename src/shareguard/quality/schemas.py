"""API types for the data-quality queue."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from shareguard.bounds import Day
from shareguard.quality.models import FindingState


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Rule names; empty means every rule.
    rules: list[str] = []


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    started_at: datetime
    finished_at: datetime | None
    trigger: str
    rules: list[str]
    counts: dict[str, Any]
    new_findings: int


class FindingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    run_id: uuid.UUID
    rule: str
    record_kind: str
    record_id: str
    person_id: uuid.UUID | None
    message: str
    severity: str
    state: FindingState
    owner_id: uuid.UUID | None
    due_date: date
    suspended_entries: list[str]
    created_at: datetime
    resolved_at: datetime | None
    resolution: str


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ]
    dismiss: bool = False


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: uuid.UUID
    due_date: Day | None = None  # keeps the current due date when left out

"""API types for value assessments and review reminders (reports themselves are plain JSON)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from shareguard.bounds import Day
from shareguard.reports.models import Conclusion, EvidenceStrength

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_start: Day
    period_end: Day
    benefit_claimed: Text
    evidence: Text
    evidence_strength: EvidenceStrength
    conclusion: Conclusion
    next_review_date: Day


class AssessmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    agreement_id: uuid.UUID
    period_start: date
    period_end: date
    benefit_claimed: str
    evidence: str
    evidence_strength: str
    error_rate: float | None
    disclosures: int
    adverse_actions: int
    conclusion: str
    next_review_date: date
    assessed_by: uuid.UUID | None
    created_at: datetime


class ReminderOut(BaseModel):
    agreement_id: uuid.UUID
    reference: str
    review_date: date | None
    overdue: bool
    reasons: list[str]

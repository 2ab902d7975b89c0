"""API types for corrections, rectification notices and what the person is told."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shareguard.corrections.models import CorrectionState, TargetKind

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_kind: TargetKind
    target_id: uuid.UUID
    #: Required: why the record was wrong.
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    evidence_ref: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    #: Field name -> corrected value (e.g. ``{"overturned": true}``).
    changes: dict[str, Any] = Field(min_length=1)
    expected_action: Text = ""
    deadline_days: int = Field(default=14, ge=1, le=90)
    lifts_adverse_action: bool = False


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class CorrectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    target_kind: str
    target_id: uuid.UUID
    new_record_id: uuid.UUID | None
    changes: dict[str, Any]
    reason: str
    evidence_ref: str
    expected_action: str
    deadline_days: int
    lifts_adverse_action: bool
    state: CorrectionState
    requested_by: uuid.UUID | None
    approved_by: uuid.UUID | None
    created_at: datetime
    applied_at: datetime | None
    notices: int = 0


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reference: str
    correction_id: uuid.UUID
    organisation_id: uuid.UUID
    organisation: str = ""
    agreement_ids: list[str]
    disclosure_ids: list[str]
    disclosure_kinds: list[str]
    first_disclosed_at: datetime
    what_changed: str
    expected_action: str
    deadline: datetime
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledgement_note: str
    escalated_at: datetime | None
    overdue: bool = False


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text = ""


class PersonNoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    correction_id: uuid.UUID
    message: str
    recipients_notified: int
    created_at: datetime


class RecipientToldOut(BaseModel):
    correction_id: uuid.UUID
    notice_reference: str
    organisation: str
    sent_at: datetime
    acknowledged_at: datetime | None


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class WebhookOut(BaseModel):
    url: str | None
    #: Shown once: verify ``Shareguard-Signature`` with it.
    secret: str | None


class CorrectionRequestIn(BaseModel):
    """A person's request to correct their record (made for them by a caseworker here)."""

    model_config = ConfigDict(extra="forbid")
    what_is_wrong: str = Field(min_length=1, max_length=2000)
    correct_value: str = Field(default="", max_length=2000)


class CorrectionRequestCloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["corrected", "no_change", "partly_corrected"]
    response: str = Field(min_length=1, max_length=2000)


class CorrectionRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    person_id: uuid.UUID
    what_is_wrong: str
    correct_value: str
    state: str
    opened_at: datetime
    respond_by: date
    closed_at: datetime | None
    outcome: str | None
    response: str

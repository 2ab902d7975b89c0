"""API types for requests to partners and data partners send in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shareguard.agreements.schemas import DataItemCode, PurposeCode
from shareguard.errors import InvalidInput
from shareguard.exchange.models import InboundState, RequestState


class RequestIn(BaseModel):
    """A caseworker's request to a partner for data items about one person."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agreement: str = Field(
        "", description="Agreement reference or id (the partner discloses under it)"
    )
    agreement_id: uuid.UUID | None = Field(None, description="Or the agreement's id")
    person_id: uuid.UUID
    reason: str = Field(description="Why the information is needed (required)", max_length=2000)
    data_items: list[DataItemCode] = Field(
        [], description="Items asked for; default: the agreement's items in the purpose's shape"
    )
    purpose: PurposeCode | None = None
    proportionality: str = Field("", max_length=2000)
    partner: str | None = Field(None, description="Partner name or id, when several disclose")
    deadline_days: int = Field(10, ge=1, le=90)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["data", "not_held", "refused"]
    data: dict[str, Any] | None = Field(
        None, description="Data item → value; fields outside the agreement are dropped"
    )
    note: str = Field("", max_length=2000, description="Required when refusing: the reason")


class RequestOut(BaseModel):
    id: uuid.UUID
    reference: str
    agreement_id: uuid.UUID
    agreement: str
    purpose: str
    requester: str | None
    partner: str
    person_id: uuid.UUID | None = Field(None, description="Shown to staff only")
    person: dict[str, Any] | None = Field(
        None, description="Name and date of birth, to find the person (open requests only)"
    )
    data_items: list[str]
    reason: str
    proportionality: str
    state: RequestState
    decision_kind: str
    decision_reason: str
    created_at: datetime
    deadline: datetime | None
    reminded_at: datetime | None
    escalated_at: datetime | None
    answered_at: datetime | None
    answer: dict[str, Any] | None = Field(None, description="The minimised answer (staff only)")
    dropped: list[str]
    answer_note: str


class RecordIn(BaseModel):
    """One record a partner sends under an inbound agreement."""

    model_config = ConfigDict(extra="forbid")

    agreement: str = Field("", description="Agreement reference or id (you disclose under it)")
    agreement_id: uuid.UUID | None = Field(None, description="Or the agreement's id")
    data: dict[str, Any] = Field(description="Data item → value")
    record_id: str = Field("", max_length=100, description="Your own reference")
    categories: list[str] = Field(
        [], description="pupil, patient, victim or witness where the person is one"
    )
    purpose: PurposeCode | None = None


class InboundRecordOut(BaseModel):
    id: uuid.UUID
    batch_id: uuid.UUID
    agreement_id: uuid.UUID
    agreement: str
    discloser: str
    recipient: str | None
    partner_record_id: str
    line: int | None
    person_id: uuid.UUID | None = Field(None, description="Shown to staff only")
    data: dict[str, Any] | None = Field(None, description="Shown to staff only")
    dropped: list[str]
    findings: list[dict[str, Any]]
    state: InboundState
    note: str
    created_at: datetime


class BatchOut(BaseModel):
    id: uuid.UUID
    reference: str
    agreement_id: uuid.UUID
    agreement: str
    discloser: str
    source: str
    file_name: str
    mode: str
    rows: int
    accepted: int
    refused: int
    quarantined: int
    refusals: dict[str, int]
    errors: list[dict[str, Any]]
    created_at: datetime


class DecideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=2000)


class EscalationOut(BaseModel):
    reminded: int
    escalated: int
    deliveries: dict[str, int]


def agreement_of(body: RequestIn | RecordIn) -> str:
    """The agreement a body names, by reference or id; InvalidInput when it names none."""
    if body.agreement_id is not None:
        return str(body.agreement_id)
    if not body.agreement:
        raise InvalidInput("name the agreement (reference or id)", field="agreement")
    return body.agreement

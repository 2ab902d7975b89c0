"""API types for the status register."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shareguard.bounds import Day
from shareguard.status.models import AppealState, Category, DecisionType, NameKind, StatusKind

NAME_MAX = 100
NameText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=NAME_MAX)]
Country = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^([A-Za-z]{3})?$")
]


class NameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given: NameText = ""
    family: NameText = Field(min_length=1)
    kind: NameKind = NameKind.PRIMARY
    script: Annotated[str, StringConstraints(max_length=20)] = "Latin"


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Annotated[
        str, StringConstraints(pattern=r"^(passport|brp|national_id|travel_document)$")
    ] = "passport"
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
    issuing_country: Country = ""


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: list[NameIn] = Field(min_length=1, max_length=20)
    date_of_birth: Day
    nationality: Country = ""
    categories: list[Category] = []
    documents: list[DocumentIn] = Field(default=[], max_length=10)
    photo_ref: Annotated[str, StringConstraints(max_length=64)] = ""
    postcode: Annotated[str, StringConstraints(max_length=10)] = ""


class NameOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    given: str
    family: str
    kind: NameKind
    script: str


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    number: str
    issuing_country: str


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: DecisionType
    decided_on: Day
    outcome: Annotated[str, StringConstraints(max_length=2000)] = ""
    appeal_state: AppealState = AppealState.NONE
    final: bool = False
    appeal_window_end: Day | None = None
    overturned: bool = False
    source: Annotated[str, StringConstraints(max_length=100)] = ""
    evidence_ref: Annotated[str, StringConstraints(max_length=200)] = ""
    supersedes_id: uuid.UUID | None = None


class DecisionOut(DecisionIn):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    person_id: uuid.UUID
    author_id: uuid.UUID | None
    recorded_at: datetime
    current: bool = True


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: StatusKind
    valid_from: Day
    valid_to: Day | None = None
    may_work: bool = True
    work_conditions: Annotated[str, StringConstraints(max_length=300)] = ""
    may_rent: bool = True
    may_study: bool = True
    public_funds: bool = False
    source: Annotated[str, StringConstraints(max_length=100)] = ""
    evidence_ref: Annotated[str, StringConstraints(max_length=200)] = ""
    supersedes_id: uuid.UUID | None = None
    reason: Annotated[str, StringConstraints(max_length=200)] = ""


class StatusOut(StatusIn):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    person_id: uuid.UUID
    author_id: uuid.UUID | None
    recorded_at: datetime
    current: bool = False


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    date_of_birth: date
    nationality: str
    categories: list[str]
    locks: list[str]
    photo_ref: str
    names: list[NameOut]
    documents: list[DocumentOut]
    created_at: datetime


class PersonDetailOut(PersonOut):
    current_status: StatusOut | None
    statuses: list[StatusOut]
    decisions: list[DecisionOut]


class ShareCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Annotated[str, StringConstraints(max_length=40)]
    days: int = Field(default=90, ge=1, le=90)


class ShareCodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    purpose: str
    hint: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ShareCodeCreated(ShareCodeOut):
    #: Shown once; only its HMAC is stored.
    code: str

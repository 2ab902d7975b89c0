"""API types for checks and cases."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shareguard.bounds import Day
from shareguard.checks.models import CaseKind, CaseState, Outcome
from shareguard.status.schemas import NAME_MAX

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]


class ShareCodeCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    date_of_birth: Day
    purpose: Short


class AttributeCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Short
    given: Annotated[str, StringConstraints(strip_whitespace=True, max_length=NAME_MAX)] = ""
    family: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)
    ]
    date_of_birth: Day
    document_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None
    ) = None
    nationality: (
        Annotated[str, StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{3}$")] | None
    ) = None


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    check_id: uuid.UUID
    kind: CaseKind
    state: CaseState
    opened_at: datetime
    respond_by: date
    contested_at: datetime | None
    outcome: str
    closed_at: datetime | None


class CaseDetailOut(CaseOut):
    person_id: uuid.UUID | None
    statement: str
    outcome_note: str
    assigned_to: uuid.UUID | None
    closed_by: uuid.UUID | None


class CheckOut(BaseModel):
    check_reference: uuid.UUID
    at: datetime
    purpose: str
    method: str
    outcome: Outcome
    #: The purpose's answer shape, minimised by the policy; absent unless a match was made.
    answer: dict[str, Any] | None = None
    #: Present on every answer that is not ``confirmed``.
    contest: dict[str, str] | None = None
    case: CaseOut | None = None
    audit_entry_id: uuid.UUID | None = Field(
        None,
        description="The audit entry recording this check; its inclusion proof is at "
        "/api/v1/audit/entries/{id}/proof (202 until the entry is integrated, within a second)",
    )


class ContestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statement: Annotated[str, StringConstraints(max_length=2000)] = ""
    #: For a caseworker contesting on the person's behalf.
    person_id: uuid.UUID | None = None


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Annotated[str, StringConstraints(pattern=r"^(confirmed|not_confirmed|no_record)$")]
    note: Annotated[str, StringConstraints(max_length=2000)] = ""
    person_id: uuid.UUID | None = None


class OpenCaseOut(BaseModel):
    person_id: uuid.UUID
    open_case: bool = Field(description="A referral or contest is open: no adverse action")

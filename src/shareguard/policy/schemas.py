"""API and file types for trying decisions, firewall rules and pauses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shareguard.agreements.schemas import CheckMethodCode, DataItemCode, PurposeCode
from shareguard.bounds import EARLIEST, LATEST, Day

CATEGORIES = ("pupil", "patient", "victim", "witness")
ActionCode = Literal[
    "check", "bulk_disclosure", "export", "subject_access", "request", "answer", "submit"
]
SourceCode = Literal[
    "government_department",
    "agency",
    "nhs_body",
    "school",
    "police_force",
    "local_authority",
    "employer",
    "landlord",
    "bank",
    "regulator",
]


FIRST = datetime(EARLIEST.year, 1, 1, tzinfo=UTC)
LAST = datetime(LATEST.year, 12, 31, tzinfo=UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give the time with a UTC offset, e.g. 2026-01-01T09:00:00Z")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware), Field(ge=FIRST, le=LAST)]
Category = Literal["pupil", "patient", "victim", "witness"]


class SubjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str = Field("test-subject", max_length=64, description="Pseudonymous person reference")
    date_of_birth: Day | None = None
    categories: list[Category] = []
    appeal_state: Literal["none", "lodged", "pending", "decided"] = "none"
    locks: list[Literal["attribute_checks"]] = []


class DecisionRequestIn(BaseModel):
    """A request to evaluate without disclosing anything (``shareguard policy test``)."""

    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(description="Name or id of the organisation asking")
    action: ActionCode = "check"
    agreement: str | None = Field(None, description="Agreement reference or id (default: found)")
    purpose: PurposeCode
    data_items: list[DataItemCode] = []
    subject: SubjectIn = SubjectIn()
    check_method: CheckMethodCode | None = None
    at: AwareDatetime | None = None
    key_agreements: list[str] | None = Field(
        None, description="Act as an API key scoped to these agreement references or ids"
    )


class DecisionOut(BaseModel):
    allowed: bool
    kind: str
    reason: str
    policies: list[str]
    agreement_id: uuid.UUID | None = None
    discloser_id: uuid.UUID | None = None
    recipient_id: uuid.UUID | None = None


class FirewallRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    title: str
    description: str
    categories: list[str]
    data_items: list[str]
    purposes: list[str]
    actions: list[str]
    sources: list[str] = []
    active: bool
    version: int


class FirewallRuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=5, max_length=300)
    description: str = ""
    categories: list[Category] = []
    data_items: list[DataItemCode] = []
    purposes: list[PurposeCode] = Field(
        [], description="Purposes guarded; empty means every immigration-enforcement purpose"
    )
    actions: list[ActionCode] = []
    sources: list[SourceCode] = Field(
        [], description="Organisation types whose data the rule protects, whichever way it flows"
    )


class FirewallProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    operation: Literal["create", "update", "retire"]
    key: str = Field(min_length=3, max_length=60, pattern=r"^[a-z0-9][a-z0-9\-]+$")
    rule: FirewallRuleFields | None = None
    reason: str = Field(min_length=3)

    @model_validator(mode="after")
    def _rule_needed(self) -> FirewallProposalIn:
        if self.operation != "retire" and self.rule is None:
            raise ValueError(f"a {self.operation} needs the rule's fields")
        return self


class FirewallDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = ""


class FirewallChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    operation: str
    rule_key: str
    proposed: dict
    reason: str
    status: Literal["pending", "approved", "rejected"]
    proposed_by: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str
    created_at: datetime


class PauseIn(BaseModel):
    """A pause: what it blocks, why, from when and (optionally) until when."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=5, max_length=300)
    reason: str = Field(min_length=3)
    agreements: list[str] = Field([], description="References or ids; empty means every one")
    purposes: list[PurposeCode] = []
    actions: list[ActionCode] = []
    age_over: int | None = Field(None, ge=0, le=150, description="Aged over N on the decision date")
    age_under: int | None = Field(None, ge=0, le=150)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class PauseLiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3)


class PauseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    reason: str
    owner_id: uuid.UUID | None
    agreement_ids: list[str]
    purposes: list[str]
    actions: list[str]
    age_over: int | None
    age_under: int | None
    starts_at: datetime
    ends_at: datetime | None
    lift_reason: str
    in_force: bool = False


class PolicyTextOut(BaseModel):
    agreement: str | None
    cedar: str
    warnings: list[str] = []

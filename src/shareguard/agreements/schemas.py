"""API and YAML types for agreements."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from shareguard.agreements import retention
from shareguard.agreements.catalogue import CHECK_METHODS, DATA_ITEMS, PURPOSES
from shareguard.agreements.models import AgreementState
from shareguard.bounds import Count, Day


def _check_method(code: str) -> str:
    if code not in CHECK_METHODS:
        raise ValueError(f"unknown check method; known: {', '.join(CHECK_METHODS)}")
    return code


def _purpose(code: str) -> str:
    if code not in PURPOSES:
        raise ValueError(f"unknown purpose; known: {', '.join(PURPOSES)}")
    return code


def _data_item(code: str) -> str:
    if code not in DATA_ITEMS:
        raise ValueError(f"unknown data item; known: {', '.join(DATA_ITEMS)}")
    return code


def _retention_rules(rules: dict[str, str]) -> dict[str, str]:
    parsed = retention.parse_rules(rules)
    return {kind: rule.text for kind, rule in parsed.items()}


#: Kind of record -> "P1Y after check": parsed, stored in canonical form.
RetentionRules = Annotated[
    dict[str, str], AfterValidator(_retention_rules), WithJsonSchema(retention.schema())
]

#: Validated against the catalogue; listed as an enum in the OpenAPI document.
PurposeCode = Annotated[
    str, AfterValidator(_purpose), WithJsonSchema({"type": "string", "enum": list(PURPOSES)})
]
CheckMethodCode = Annotated[
    str,
    AfterValidator(_check_method),
    WithJsonSchema({"type": "string", "enum": list(CHECK_METHODS)}),
]
DataItemCode = Annotated[
    str,
    AfterValidator(_data_item),
    WithJsonSchema({"type": "string", "enum": list(DATA_ITEMS)}),
]


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(description="Organisation name or id")
    role: Literal["discloser", "recipient"]
    controller_role: Literal["controller", "joint_controller", "processor"] = "controller"


class AgreementIn(BaseModel):
    """A new agreement as written by a governance officer (YAML file or API body)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: str = Field(min_length=3, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9\-]+$")
    title: str = Field(min_length=3, max_length=300)
    summary: str = ""
    purposes: list[PurposeCode] = Field(min_length=1)
    data_items: list[DataItemCode] = Field(min_length=1)
    parties: list[PartyIn] = Field(min_length=2)
    bulk: bool = False
    legal_gateway_statute: str = ""
    legal_gateway_section: str = ""
    lawful_basis: str = ""
    special_category_condition: str = ""
    dpia_reference: str = ""
    dpia_date: Day | None = None
    necessity_statement: str = ""
    data_standards: str = ""
    rights_handling: str = ""
    contact_point: str = ""
    retention: str = ""
    retention_rules: RetentionRules = Field(default_factory=dict)
    security_measures: str = ""
    frequency: str = ""
    limit_per_day: Count | None = None
    limit_per_run: Count | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    review_date: Day | None = None
    termination_procedure: str = ""
    amendment_duty: str = ""
    decision_maker: str = ""


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    next_review_date: Day
    reason: str = Field(min_length=3, max_length=2000)


class PartyOut(BaseModel):
    organisation_id: uuid.UUID
    organisation: str
    role: str
    controller_role: str


class EventOut(BaseModel):
    action: str
    from_state: str | None
    to_state: str
    actor_id: uuid.UUID | None
    reason: str
    at: datetime


class AgreementOut(BaseModel):
    id: uuid.UUID
    reference: str
    title: str
    summary: str
    state: AgreementState
    review_lapsed: bool
    in_force: bool
    #: outbound (the operator discloses), inbound (the operator receives) or between_partners.
    direction: str = "outbound"
    disclosers: list[str] = []
    recipients: list[str] = []
    purposes: list[str]
    data_items: list[str]
    bulk: bool
    parties: list[PartyOut]
    legal_gateway_statute: str
    legal_gateway_section: str
    lawful_basis: str
    special_category_condition: str
    dpia_reference: str
    dpia_date: date | None
    necessity_statement: str
    data_standards: str
    rights_handling: str
    contact_point: str
    retention: str
    #: Kind of record -> "P1Y after check" (see agreements.retention).
    retention_rules: dict[str, str] = {}
    security_measures: str
    frequency: str
    limit_per_day: int | None
    limit_per_run: int | None
    start_date: date | None
    end_date: date | None
    review_date: date | None
    termination_procedure: str
    amendment_duty: str
    decision_maker: str
    author_id: uuid.UUID | None
    signed_off_by: uuid.UUID | None
    signed_off_at: datetime | None
    events: list[EventOut]

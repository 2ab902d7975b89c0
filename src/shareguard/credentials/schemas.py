"""API types for credentials and locks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field("right_to_work", description="One purpose, e.g. right_to_work")
    days: int = Field(30, ge=1, le=30, description="Days valid; never past the status's end")


class CredentialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    purpose: str
    issued_at: datetime
    valid_until: datetime
    key_id: str
    revoked_at: datetime | None = None
    revocation_reason: str = ""
    media_type: str = "application/vc+jwt"
    download_url: str = ""
    page_url: str = ""


class CredentialIssued(CredentialOut):
    credential: str = Field(description="The compact JWS: the file's content, the QR code's text")


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        "person_request", description="lost, status_changed, person_request or issued_in_error"
    )


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: str = Field(
        min_length=1,
        max_length=20_000,
        description="The credential: the file's content, the QR code's text, or the page",
    )


class VerificationOut(BaseModel):
    valid: bool
    code: str
    reason: str
    credential_id: str | None = None
    purpose: str | None = None
    subject: dict[str, Any] | None = None
    issuer: str | None = None
    issued_at: datetime | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    revocation_checked: bool = False
    revocation_list_issued_at: datetime | None = None
    warnings: list[str] = []


class PublicKeyOut(BaseModel):
    kid: str
    alg: str
    pem: str
    jwk: dict[str, Any]


class RevocationListOut(BaseModel):
    revocation_list: str = Field(description="Compact JWS signed by the issuing key")
    issued_at: datetime
    next_update: datetime
    count: int


class LocksOut(BaseModel):
    person_id: uuid.UUID
    locks: list[str]
    available: dict[str, str] = Field(description="Every lock a person can set, and what it stops")

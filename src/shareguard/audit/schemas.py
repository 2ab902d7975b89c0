"""API shapes of the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class PublicKeyOut(BaseModel):
    algorithm: str = "Ed25519"
    key_name: str
    key_id: str = Field(description="Hex of the 4-byte signed-note key id")
    public_key: str = Field(description="Base64 of the 32-byte Ed25519 public key")
    vkey: str = Field(description="Note verifier key: <name>+<hex key id>+<base64(0x01 || key)>")


class CheckpointOut(BaseModel):
    id: int
    tree_size: int
    root_hash: str = Field(description="Base64 root hash")
    origin: str
    created_at: datetime
    note: str = Field(description="The C2SP signed-note checkpoint")


class EntryOut(BaseModel):
    id: uuid.UUID
    seq: int
    at: datetime
    action: str
    actor_org_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None
    agreement_id: uuid.UUID | None
    purpose: str | None
    subject_ref: str | None
    decision: str | None
    reasons: list[str]
    payload_hash: str | None
    details: dict[str, Any]
    leaf_hash: str = Field(description="Base64 RFC 9162 leaf hash")


class AccessLogItemOut(BaseModel):
    seq: int | None = Field(description="The entry's place in the log; null until integrated")
    at: datetime | None
    action: str | None
    organisation: str | None
    agreement_reference: str | None
    purpose: str | None
    outcome: str | None
    withheld: str | None = Field(None, description="'withheld under <exemption>' where one applies")
    exemption_reason: str | None = Field(None, description="Shown to staff only")
    legal_gateway: str | None = Field(None, description="Statute and section the sharing relies on")
    discloser: str | None = Field(None, description="Organisation the data flowed from")
    recipient: str | None = Field(None, description="Organisation the data flowed to")
    entry_id: uuid.UUID | None = Field(None, description="The audit entry's id")
    deleted: str | None = Field(
        None,
        description="'details deleted on DATE under the retention rule of AGREEMENT' once "
        "retention removed the personal data the entry's record held",
    )


class AccessLogOut(BaseModel):
    person_id: uuid.UUID
    items: list[AccessLogItemOut]


class ProofPendingOut(BaseModel):
    """The answer (HTTP 202) while an entry waits for the integrator: ask again shortly."""

    status: str = Field("pending", description="Always 'pending'")
    entry_id: uuid.UUID
    detail: str
    retry_after: int = Field(description="Seconds to wait before asking again")

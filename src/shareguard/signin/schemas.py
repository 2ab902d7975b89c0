"""API types for partners' machine clients (OAuth 2.0 client credentials, RFC 7523)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shareguard.bounds import Moment


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    jwk: dict[str, Any] = Field(
        description="The client's public key as a JWK: RSA of 2048 bits or more (RS256) or "
        "EC P-256 (ES256). A private key is refused."
    )
    agreement_ids: list[uuid.UUID] = Field(default=[], max_length=100)
    expires_at: Moment | None = None


class ClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organisation_id: uuid.UUID
    client_id: str = Field(description="The iss and sub of the client's assertions")
    name: str
    jwk: dict[str, Any]
    agreement_ids: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int

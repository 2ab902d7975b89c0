from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shareguard.accounts.models import OrganisationType, Role
from shareguard.bounds import Moment


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    type: OrganisationType


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    agreement_ids: list[uuid.UUID] = []
    expires_at: Moment | None = None


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    prefix: str
    agreement_ids: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class IssuedKey(KeyOut):
    token: str = Field(description="Shown once; store it now. Only a hash is kept.")


class WhoAmI(BaseModel):
    organisation_id: uuid.UUID | None
    user_id: uuid.UUID | None
    roles: list[Role]
    agreement_scope: list[uuid.UUID] | None

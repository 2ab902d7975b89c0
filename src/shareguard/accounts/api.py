"""Organisations and their API keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from shareguard.accounts.models import Role
from shareguard.accounts.schemas import IssuedKey, KeyIn, KeyOut, OrganisationOut, WhoAmI
from shareguard.errors import NotFound
from shareguard.web.deps import Accounts, CurrentPrincipal, allow

router = APIRouter(tags=["organisations"])


@router.get("/whoami", response_model=WhoAmI)
def whoami(principal: CurrentPrincipal) -> WhoAmI:
    return WhoAmI(
        organisation_id=principal.organisation_id,
        user_id=principal.user_id,
        roles=sorted(principal.roles),
        agreement_scope=sorted(principal.agreement_scope) if principal.agreement_scope else None,
    )


@router.get("/organisations", response_model=list[OrganisationOut])
def organisations(principal: CurrentPrincipal, accounts: Accounts) -> list[OrganisationOut]:
    if principal.is_partner:
        return [OrganisationOut.model_validate(accounts.organisation(principal.organisation_id))]  # type: ignore[arg-type]
    return [OrganisationOut.model_validate(o) for o in accounts.organisations()]


def _own_org_or_officer(principal: CurrentPrincipal, org_id: uuid.UUID) -> None:
    if principal.organisation_id != org_id and not principal.has(Role.GOVERNANCE_OFFICER):
        raise NotFound(f"organisation {org_id} not found")


@router.get("/organisations/{org_id}/keys", response_model=list[KeyOut])
def keys(org_id: uuid.UUID, principal: CurrentPrincipal, accounts: Accounts) -> list[KeyOut]:
    """The organisation's keys this caller may manage: none wider than its own scope."""
    _own_org_or_officer(principal, org_id)
    return [KeyOut.model_validate(k) for k in accounts.keys(org_id, principal)]


@router.post(
    "/organisations/{org_id}/keys",
    response_model=IssuedKey,
    status_code=201,
    dependencies=[allow("governance_officer")],
)
def issue_key(
    org_id: uuid.UUID, body: KeyIn, principal: CurrentPrincipal, accounts: Accounts
) -> IssuedKey:
    principal.require(Role.GOVERNANCE_OFFICER)
    accounts.organisation(org_id)
    key, token = accounts.issue_key(
        org_id,
        body.name,
        agreement_ids=body.agreement_ids,
        expires_at=body.expires_at,
        principal=principal,
    )
    return IssuedKey(**KeyOut.model_validate(key).model_dump(), token=token)


@router.post("/keys/{key_id}/revoke", response_model=KeyOut)
def revoke_key(key_id: uuid.UUID, principal: CurrentPrincipal, accounts: Accounts) -> KeyOut:
    """Revoke a key whose reach this caller's covers (404 for any other)."""
    return KeyOut.model_validate(accounts.revoke_key(key_id, principal))


@router.post("/keys/{key_id}/rotate", response_model=IssuedKey, status_code=201)
def rotate_key(key_id: uuid.UUID, principal: CurrentPrincipal, accounts: Accounts) -> IssuedKey:
    """A successor with exactly the old key's scope; only for keys this caller covers."""
    new, token = accounts.rotate_key(key_id, principal=principal)
    return IssuedKey(**KeyOut.model_validate(new).model_dump(), token=token)

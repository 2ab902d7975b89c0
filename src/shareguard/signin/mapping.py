"""The staff claims mapping: which of a provider's claims make a member of staff an officer,
a caseworker or a partner user, of which organisation, and what multi-factor authentication
a sign-in needs. A small YAML file (``SHAREGUARD_STAFF_OIDC_MAPPING``), screened and
validated by ``shareguard.yamlfile``; its format is documented in docs/sign-in.md.

``decide`` is pure: claims in, an organisation, roles and an MFA verdict out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shareguard.accounts.models import Role
from shareguard.yamlfile import load_model

#: ``amr`` values (RFC 8176) that show more than one factor was used.
MFA_AMR = ["mfa", "otp", "hwk", "swk", "sms", "fpt", "face", "iris", "pop", "sc"]


class Mfa(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Refuse sign-ins whose ID token does not show multi-factor authentication.
    required: bool = True
    #: Any one of these in the ID token's ``amr`` counts as multi-factor ...
    amr: list[str] = Field(default_factory=lambda: list(MFA_AMR), max_length=50)
    #: ... or an ``acr`` equal to one of these (e.g. a provider's "mfa" context class).
    acr: list[str] = Field(default_factory=list, max_length=50)


class GroupRule(BaseModel):
    """One value of the roles claim, and what it makes its holder."""

    model_config = ConfigDict(extra="forbid")

    group: str = Field(min_length=1, max_length=300)
    organisation: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(min_length=1, max_length=10)
    #: Override ``mfa.required`` for holders of this group (None: the file's rule).
    mfa: bool | None = None

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        known = {r.value for r in Role}
        unknown = [r for r in value if r not in known]
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return value


class ClaimsMapping(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    #: The claim holding the user's groups or roles: a list, or a space-separated string.
    roles_claim: str = Field(default="groups", min_length=1, max_length=100)
    #: The claim naming the shareguard user the first time an account signs in.
    email_claim: str = Field(default="email", min_length=1, max_length=100)
    #: Sent as ``acr_values`` in the authorisation request (empty: not sent).
    acr_values: str = Field(default="", max_length=300)
    mfa: Mfa = Field(default_factory=Mfa)
    groups: list[GroupRule] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _unique_groups(self) -> ClaimsMapping:
        seen: set[str] = set()
        for rule in self.groups:
            if rule.group in seen:
                raise ValueError(f"group {rule.group!r} is mapped twice")
            seen.add(rule.group)
        return self


def load(path: Path) -> ClaimsMapping:
    """The mapping in ``path``; InvalidInput naming the file, line and field otherwise."""
    return load_model(path, ClaimsMapping)


@dataclass(frozen=True)
class Decision:
    """What the claims make their holder. ``refusal`` is a reason code, empty when allowed."""

    organisation: str = ""
    roles: tuple[str, ...] = ()
    mfa_required: bool = True
    mfa_used: bool = False
    refusal: str = ""


def _values(claim: Any) -> list[str]:
    if isinstance(claim, str):
        return claim.split()
    if isinstance(claim, list):
        return [v for v in claim if isinstance(v, str)]
    return []


def decide(mapping: ClaimsMapping, claims: dict[str, Any]) -> Decision:
    """The organisation and roles ``claims`` map to, and whether MFA was needed and used.

    Refusals: ``no_role`` (no group maps), ``organisation_ambiguous`` (groups of two
    organisations), ``mfa`` (multi-factor authentication required but not shown).
    """
    held = set(_values(claims.get(mapping.roles_claim)))
    rules = [r for r in mapping.groups if r.group in held]
    amr = set(_values(claims.get("amr")))
    acr = claims.get("acr")
    used = bool(amr & set(mapping.mfa.amr)) or (isinstance(acr, str) and acr in mapping.mfa.acr)
    if not rules:
        return Decision(mfa_used=used, refusal="no_role")
    organisations = {r.organisation for r in rules}
    if len(organisations) != 1:
        return Decision(mfa_used=used, refusal="organisation_ambiguous")
    roles = tuple(sorted({role for r in rules for role in r.roles}))
    required = any(mapping.mfa.required if r.mfa is None else r.mfa for r in rules)
    decision = Decision(organisations.pop(), roles, required, used)
    if required and not used:
        return Decision(decision.organisation, roles, required, used, refusal="mfa")
    return decision

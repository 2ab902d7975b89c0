"""The person's verified identity: GOV.UK One Login's signed ``coreIdentityJWT``.

At identity level P2, One Login's ``/userinfo`` carries the claim
``https://vocab.account.gov.uk/v1/coreIdentityJWT``: a JWT signed (ES256) by One Login's
identity service, not by its OpenID provider, whose public keys it publishes as a DID
document (``/.well-known/did.json``). Its ``vc.credentialSubject`` holds the verified names
(``nameParts`` typed ``GivenName``/``FamilyName``; the current name has no ``validUntil``) and
``birthDate``. This module checks the signature and claims with joserfc and reads those two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from shareguard.signin.oidc import LEEWAY, SignInFailed, key_set, token_kid

CORE_IDENTITY_CLAIM = "https://vocab.account.gov.uk/v1/coreIdentityJWT"
#: One Login signs identity claims with ES256 only.
IDENTITY_ALGORITHMS = ["ES256"]


@dataclass(frozen=True)
class VerifiedIdentity:
    """What the identity provider verified: a name and a date of birth (kept in memory only)."""

    given: str
    family: str
    date_of_birth: date


def parse_keys(document: Any) -> KeySet:
    """A key set from a JWKS (``keys``) or a DID document (``assertionMethod`` entries with a
    ``publicKeyJwk``, each entry's ``id`` as the key's ``kid``, as One Login publishes)."""
    if isinstance(document, dict) and isinstance(document.get("keys"), list):
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    methods = document.get("assertionMethod") if isinstance(document, dict) else None
    if not isinstance(methods, list):
        raise ValueError("neither a JWKS nor a DID document with assertion methods")
    keys = []
    for method in methods:
        if isinstance(method, dict) and isinstance(method.get("publicKeyJwk"), dict):
            keys.append({**method["publicKeyJwk"], "kid": method.get("id", "")})
    if not keys:
        raise ValueError("the DID document has no public keys")
    return KeySet.import_key_set({"keys": keys})


def verify(
    token: object,
    *,
    keys_url: str,
    issuer: str,
    client_id: str,
    sub: str,
    level: str,
    now: int | None = None,
) -> VerifiedIdentity:
    """The verified name and date of birth from a ``coreIdentityJWT``.

    Checks the signature (ES256, against ``keys_url``), ``iss``, ``aud`` (this client),
    ``sub`` (the ID token's), ``exp``, ``nbf``, ``iat`` and ``vot`` (``level``).
    SignInFailed: ``identity_missing``, ``identity_signature``, ``identity_<claim>`` or
    ``identity_content`` (no current name or date of birth).
    """
    if not isinstance(token, str) or not token:
        raise SignInFailed("identity_missing", "your identity could not be confirmed; try again")
    keys = key_set(keys_url, token_kid(token), reason="identity_keys", parse=parse_keys)
    try:
        decoded = jwt.decode(token, keys, algorithms=IDENTITY_ALGORITHMS)
    except JoseError as exc:
        raise SignInFailed(
            "identity_signature", "your identity could not be confirmed; try again"
        ) from exc
    rules = jwt.JWTClaimsRegistry(
        now=now,
        leeway=LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True, "value": sub},
        exp={"essential": True},
        vot={"essential": True, "value": level},
    )
    try:
        rules.validate(decoded.claims)
    except JoseError as exc:
        claim = getattr(exc, "claim", None) or "claims"
        raise SignInFailed(
            f"identity_{claim}", "your identity could not be confirmed; try again"
        ) from exc
    return _read(decoded.claims)


def _read(claims: dict[str, Any]) -> VerifiedIdentity:
    failed = SignInFailed("identity_content", "your identity could not be confirmed; try again")
    subject = (claims.get("vc") or {}).get("credentialSubject") if isinstance(claims, dict) else {}
    if not isinstance(subject, dict):
        raise failed
    names = [n for n in subject.get("name") or [] if isinstance(n, dict)]
    current = [n for n in names if not n.get("validUntil")] or names
    births = [b for b in subject.get("birthDate") or [] if isinstance(b, dict)]
    if not current or not births:
        raise failed
    parts = [p for p in current[0].get("nameParts") or [] if isinstance(p, dict)]
    given = " ".join(str(p.get("value", "")) for p in parts if p.get("type") == "GivenName")
    family = " ".join(str(p.get("value", "")) for p in parts if p.get("type") == "FamilyName")
    try:
        born = date.fromisoformat(str(births[0].get("value", "")))
    except ValueError:
        raise failed from None
    if not family.strip():
        raise failed
    return VerifiedIdentity(given.strip(), family.strip(), born)

"""The credential format, pure: no database, no network, no clock unless one is passed in.

A credential is a W3C Verifiable Credential (VC Data Model 2.0) whose JSON is the payload of a
compact JWS (RFC 7515) signed with Ed25519 — the ``application/vc+jwt`` securing mechanism of
W3C "Securing Verifiable Credentials using JOSE and COSE". The algorithm is named ``Ed25519``
(RFC 9864, which deprecates the polymorphic ``EdDSA``); verification accepts both names.
A revocation list is a second JWS, signed by the same key, with its own issued and next-update
times. See docs/credentials.md for the choice and the alternatives (COSE/CWT, SD-JWT).

Verification always ends in a :class:`Verification` with one plain-English reason, so a checker
at a counter can read why a credential failed: "signature does not verify", "expired on
2026-12-23", "signed by a different key", "revoked on 2026-12-01".
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from shareguard.errors import InvalidInput

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CREDENTIAL_TYPE = "ImmigrationStatusCredential"
REVOCATION_LIST_TYPE = "ShareguardRevocationList"
#: JOSE ``typ`` of a credential (VC-JOSE-COSE §3.1.1) and of a revocation list.
TYP = "vc+jwt"
REVOCATION_TYP = "revocation-list+jwt"
MEDIA_TYPE = "application/vc+jwt"
ALG = "Ed25519"
ACCEPTED_ALGS = ["Ed25519", "EdDSA"]
#: A compact JWS anywhere in a text (a file, an HTML page, a scanned QR code).
_JWS = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class CredentialFormatError(InvalidInput):
    """A text that is not a credential, a key or a revocation list at all."""


# keys -------------------------------------------------------------------------------------------
def key_id(key: OKPKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256): the ``kid`` of every token this key signs."""
    return str(key.thumbprint())


def public_jwk(key: OKPKey) -> dict[str, Any]:
    """The public half as a JWK with its ``kid``, ``alg`` and ``use``."""
    jwk = dict(key.as_dict(private=False))
    return {**jwk, "kid": key_id(key), "alg": ALG, "use": "sig"}


def public_pem(key: OKPKey) -> str:
    return key.as_pem(private=False).decode()


def load_public_key(text: str | bytes) -> OKPKey:
    """An Ed25519 public key from PEM, a JWK, a JWK set or the public-key endpoint's body.

    Raises CredentialFormatError for anything else.
    """
    raw = text.decode() if isinstance(text, bytes) else text
    raw = raw.strip()
    try:
        if raw.startswith("{"):
            data = json.loads(raw)
            if "keys" in data:
                data = data["keys"][0]
            if "jwk" in data and "kty" not in data:  # the public-key endpoint's body
                data = data["jwk"]
            data = {k: v for k, v in data.items() if k in ("kty", "crv", "x")}
            key = OKPKey.import_key(data)
        else:
            key = OKPKey.import_key(raw.encode())
    except (ValueError, KeyError, IndexError, TypeError, JoseError) as exc:
        raise CredentialFormatError(
            "the public key is not an Ed25519 key in PEM or JWK form", field="public_key"
        ) from exc
    if key.curve_name != "Ed25519":
        raise CredentialFormatError("the public key is not an Ed25519 key", field="public_key")
    # Never keep the private half where only the public one is wanted.
    return OKPKey.import_key(key.as_dict(private=False))


# time -------------------------------------------------------------------------------------------
def iso(at: datetime) -> str:
    """XML Schema dateTimeStamp in UTC, to the second, as VC 2.0 uses: 2026-12-23T20:21:00Z."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{name} is missing")
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"{name} has no time zone")
    return at.astimezone(UTC)


# encoding ---------------------------------------------------------------------------------------
def _compact_json(obj: Any) -> bytes:
    # Sorted and without spaces: the smallest QR code, and the same bytes every time.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _b64d_strict(segment: str) -> bytes:
    """base64url without padding, refusing non-canonical text (so no byte can change silently)."""
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != segment:
        raise ValueError("non-canonical base64url")
    return data


def sign(payload: Mapping[str, Any], key: OKPKey, *, typ: str = TYP) -> str:
    """Compact JWS of ``payload`` (compact JSON) with ``alg`` Ed25519 and the key's ``kid``."""
    header = {"alg": ALG, "typ": typ, "kid": key_id(key)}
    return jws.serialize_compact(header, _compact_json(payload), key, algorithms=[ALG])


def extract_token(text: str | bytes) -> str:
    """The compact JWS in ``text``: the bare token, a downloaded file, the printable page or the
    text a QR scanner reads. CredentialFormatError when there is none."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    raw = raw.strip()
    if raw.count(".") == 2 and " " not in raw and "\n" not in raw:
        return raw
    found = _JWS.search(raw)
    if found is None:
        raise CredentialFormatError(
            "not a credential: expected a compact JWS (three base64url parts joined by dots)",
            field="credential",
        )
    return found.group(0)


# credentials ------------------------------------------------------------------------------------
def build_credential(
    *,
    credential_id: uuid.UUID,
    issuer: str,
    purpose: str,
    question: str,
    answer: Mapping[str, Any],
    issued_at: datetime,
    valid_until: datetime,
    status_url: str,
) -> dict[str, Any]:
    """The VC 2.0 document: the minimised answer of one purpose as ``credentialSubject``."""
    return {
        "@context": [VC_CONTEXT],
        "id": f"urn:uuid:{credential_id}",
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": iso(issued_at),
        "validUntil": iso(valid_until),
        # JWT's issued-at: VC 2.0 dropped issuanceDate; VC-JOSE-COSE allows registered claims.
        "iat": int(issued_at.timestamp()),
        "credentialSubject": {"purpose": purpose, "question": question, **answer},
        "credentialStatus": {
            "id": f"{status_url}#{credential_id}",
            "type": REVOCATION_LIST_TYPE,
            "revocationList": status_url,
        },
    }


@dataclass(frozen=True)
class RevocationList:
    issuer: str
    issued_at: datetime
    next_update: datetime
    #: credential id (UUID text) -> when it was revoked
    revoked: Mapping[str, datetime] = field(default_factory=dict)

    def fresh_at(self, at: datetime) -> bool:
        return at <= self.next_update


@dataclass(frozen=True)
class Verification:
    """The outcome a checker sees. ``reason`` is plain English; ``code`` is for machines."""

    valid: bool
    code: str  # valid | malformed | bad_signature | wrong_key | expired | not_yet_valid | revoked
    reason: str
    credential_id: str | None = None
    purpose: str | None = None
    subject: Mapping[str, Any] | None = None
    issuer: str | None = None
    issued_at: datetime | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    #: Whether revocation was checked, and against a list issued when.
    revocation_checked: bool = False
    revocation_list_issued_at: datetime | None = None
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = iso(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[name] = value
        return out


def _check_signature(token: str, key: OKPKey, typ: str) -> tuple[str, dict[str, Any] | None]:
    """("ok", payload) or (code, None) with code bad_signature | wrong_key | malformed."""
    h_b64, p_b64, s_b64 = token.split(".")
    try:
        header = json.loads(_b64d_strict(h_b64))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        _b64d_strict(p_b64)
        _b64d_strict(s_b64)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        # A changed byte anywhere in the signed text breaks its encoding or its signature.
        return "bad_signature", None
    kid = header.get("kid")
    if isinstance(kid, str) and kid != key_id(key):
        return "wrong_key", None
    if header.get("alg") not in ACCEPTED_ALGS:
        return "bad_signature", None
    try:
        obj = jws.deserialize_compact(token, key, algorithms=ACCEPTED_ALGS)
    except JoseError:
        return "bad_signature", None
    if header.get("typ") not in (typ, None):
        return "malformed", None
    try:
        payload = json.loads(obj.payload)
    except ValueError:
        return "malformed", None
    if not isinstance(payload, dict):
        return "malformed", None
    return "ok", payload


_SIGNATURE_REASONS = {
    "bad_signature": "signature does not verify: the credential has been altered or damaged",
    "wrong_key": "signed by a different key: this is not the key shareguard issues with",
    "malformed": "not a credential shareguard issues",
}


def verify(
    text: str | bytes,
    public_key: OKPKey,
    *,
    at: datetime,
    revocations: RevocationList | None = None,
) -> Verification:
    """Verify a credential with the issuer's public key alone (no database, no network).

    With ``revocations`` (already verified, see :func:`read_revocation_list`) a revoked
    credential fails too; a list past its next-update time still counts, with a warning.
    Raises CredentialFormatError only when ``text`` holds no compact JWS at all.
    """
    token = extract_token(text)
    outcome, payload = _check_signature(token, public_key, TYP)
    if payload is None:
        return Verification(valid=False, code=outcome, reason=_SIGNATURE_REASONS[outcome])
    try:
        if CREDENTIAL_TYPE not in payload.get("type", ()):
            raise ValueError("type")
        subject = dict(payload["credentialSubject"])
        cid = str(payload["id"]).removeprefix("urn:uuid:")
        valid_from = parse_time(payload.get("validFrom"), "validFrom")
        valid_until = parse_time(payload.get("validUntil"), "validUntil")
        issued_at = datetime.fromtimestamp(int(payload.get("iat", 0)), UTC)
    except (ValueError, KeyError, TypeError):
        return Verification(valid=False, code="malformed", reason=_SIGNATURE_REASONS["malformed"])
    facts: dict[str, Any] = {
        "credential_id": cid,
        "purpose": subject.get("purpose"),
        "subject": subject,
        "issuer": payload.get("issuer"),
        "issued_at": issued_at,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    at = at.astimezone(UTC)
    if at > valid_until:
        return Verification(
            valid=False,
            code="expired",
            reason=f"expired on {valid_until.date().isoformat()} ({iso(valid_until)})",
            **facts,
        )
    if at < valid_from:
        return Verification(
            valid=False,
            code="not_yet_valid",
            reason=f"not valid before {iso(valid_from)}",
            **facts,
        )
    warnings: list[str] = []
    if revocations is None:
        warnings.append(
            "revocation not checked: give a revocation list, or verify online, to know whether "
            "the person or a caseworker has revoked it"
        )
    else:
        facts["revocation_checked"] = True
        facts["revocation_list_issued_at"] = revocations.issued_at
        if not revocations.fresh_at(at):
            warnings.append(
                "the revocation list is out of date: its next update was due "
                f"{iso(revocations.next_update)}; fetch a new one when you can"
            )
        revoked_at = revocations.revoked.get(cid)
        if revoked_at is not None:
            return Verification(
                valid=False,
                code="revoked",
                reason=f"revoked on {revoked_at.date().isoformat()} ({iso(revoked_at)})",
                revoked_at=revoked_at,
                warnings=tuple(warnings),
                **facts,
            )
    return Verification(
        valid=True,
        code="valid",
        reason=f"valid: signed by shareguard, valid until {iso(valid_until)}",
        warnings=tuple(warnings),
        **facts,
    )


# revocation lists -------------------------------------------------------------------------------
def build_revocation_list(
    *,
    issuer: str,
    issued_at: datetime,
    next_update: datetime,
    revoked: Mapping[uuid.UUID, datetime] | Mapping[str, datetime],
) -> dict[str, Any]:
    """Only credentials that are revoked and not yet expired need listing."""
    return {
        "type": REVOCATION_LIST_TYPE,
        "issuer": issuer,
        "issued": iso(issued_at),
        "nextUpdate": iso(next_update),
        "iat": int(issued_at.timestamp()),
        "revoked": [
            {"id": f"urn:uuid:{cid}", "revokedAt": iso(when)}
            for cid, when in sorted(revoked.items(), key=lambda kv: str(kv[0]))
        ],
    }


def read_revocation_list(text: str | bytes, public_key: OKPKey) -> RevocationList:
    """Verify and parse a signed revocation list; CredentialFormatError naming what is wrong."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    raw = raw.strip()
    if raw.startswith("{"):
        # The JSON envelope the API serves: {"revocation_list": "<jws>", ...}
        try:
            raw = str(json.loads(raw)["revocation_list"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CredentialFormatError("not a revocation list", field="revocation_list") from exc
    token = extract_token(raw)
    outcome, payload = _check_signature(token, public_key, REVOCATION_TYP)
    if payload is None or payload.get("type") != REVOCATION_LIST_TYPE:
        what = {
            "wrong_key": "is signed by a different key",
            "bad_signature": "signature does not verify",
        }.get(outcome, "is not a shareguard revocation list")
        raise CredentialFormatError(f"revocation list {what}", field="revocation_list")
    try:
        return RevocationList(
            issuer=str(payload.get("issuer", "")),
            issued_at=parse_time(payload.get("issued"), "issued"),
            next_update=parse_time(payload.get("nextUpdate"), "nextUpdate"),
            revoked={
                str(item["id"]).removeprefix("urn:uuid:"): parse_time(
                    item["revokedAt"], "revokedAt"
                )
                for item in payload.get("revoked", [])
            },
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CredentialFormatError(
            "revocation list is not a shareguard revocation list", field="revocation_list"
        ) from exc

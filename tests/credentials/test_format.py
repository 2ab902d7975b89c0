"""The credential format on its own: signing, verifying with only a public key, revocation lists.

No database and no network here: offline verification must need neither.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc.jwk import OKPKey

from shareguard.credentials import format as fmt
from shareguard.credentials import keys, qr
from tests.conftest import need

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ANSWER = {
    "name": "Testa Exampleperson",
    "photo_ref": "photo-0123456789ab",
    "may_work": "yes",
    "work_conditions": "",
    "valid_until": "2027-06-30",
}


def make_token(key: OKPKey, *, cid: uuid.UUID | None = None, days: int = 30) -> str:
    doc = fmt.build_credential(
        credential_id=cid or uuid.uuid4(),
        issuer="https://shareguard.example",
        purpose="right_to_work",
        question="May this person work?",
        answer=ANSWER,
        issued_at=NOW,
        valid_until=NOW + timedelta(days=days),
        status_url="https://shareguard.example/api/v1/credentials/revocations",
    )
    return fmt.sign(doc, key)


@pytest.fixture(scope="module")
def key() -> OKPKey:
    return OKPKey.generate_key("Ed25519")


@pytest.fixture(scope="module")
def public(key: OKPKey) -> OKPKey:
    # What a checker holds: the public PEM, nothing else.
    return fmt.load_public_key(fmt.public_pem(key))


def flip(token: str, index: int) -> str:
    """Change one character of the token to another valid base64url character."""
    ch = token[index]
    new = "A" if ch != "A" else "B"
    return token[:index] + new + token[index + 1 :]


def test_valid_credential_verifies_with_only_the_public_key(key: OKPKey, public: OKPKey) -> None:
    token = make_token(key)
    result = fmt.verify(token, public, at=NOW + timedelta(days=1))
    assert result.valid, result.reason
    assert result.code == "valid"
    assert result.purpose == "right_to_work"
    assert result.subject is not None
    assert result.subject["may_work"] == "yes"
    assert result.subject["name"] == ANSWER["name"]
    assert result.valid_until == NOW + timedelta(days=30)
    # Offline, nobody can know about a revocation: the checker is told so.
    assert not result.revocation_checked
    assert any("revocation not checked" in w for w in result.warnings)


def test_credential_is_a_w3c_vc_2_jws(key: OKPKey) -> None:
    token = make_token(key)
    header_b64, payload_b64, _ = token.split(".")
    header = json.loads(fmt._b64d_strict(header_b64))
    payload = json.loads(fmt._b64d_strict(payload_b64))
    assert header == {"alg": "Ed25519", "typ": "vc+jwt", "kid": fmt.key_id(key)}
    assert payload["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert payload["type"] == ["VerifiableCredential", "ImmigrationStatusCredential"]
    assert payload["id"].startswith("urn:uuid:")
    assert payload["validFrom"] == "2026-11-23T12:00:00Z"
    assert payload["validUntil"] == "2026-12-23T12:00:00Z"
    # Only the purpose's answer shape, plus what the purpose is.
    assert set(payload["credentialSubject"]) == {*ANSWER, "purpose", "question"}


@pytest.mark.parametrize("part", ["payload", "signature", "payload_end"])
def test_a_tampered_byte_fails_with_signature_does_not_verify(
    key: OKPKey, public: OKPKey, part: str
) -> None:
    token = make_token(key)
    h, p, _s = token.split(".")
    index = {
        "payload": len(h) + 1 + len(p) // 2,
        "signature": len(h) + len(p) + 2 + 10,
        # The last character carries padding bits: a lax decoder would not notice a change.
        "payload_end": len(h) + len(p),
    }[part]
    tampered = flip(token, index)
    assert tampered != token
    result = fmt.verify(tampered, public, at=NOW)
    assert not result.valid
    assert result.code == "bad_signature"
    assert result.reason.startswith("signature does not verify")
    assert result.subject is None  # nothing from an unverified payload is shown


def test_changed_claim_re_encoded_fails(key: OKPKey, public: OKPKey) -> None:
    token = make_token(key)
    h, p, s = token.split(".")
    payload = json.loads(fmt._b64d_strict(p))
    payload["credentialSubject"]["may_work"] = "yes"
    payload["validUntil"] = "2030-01-01T00:00:00Z"
    forged_p = fmt.base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    result = fmt.verify(f"{h}.{forged_p}.{s}", public, at=NOW)
    assert result.code == "bad_signature"


def test_expired_credential_fails_with_its_date(key: OKPKey, public: OKPKey) -> None:
    token = make_token(key, days=30)
    result = fmt.verify(token, public, at=NOW + timedelta(days=30, seconds=1))
    assert not result.valid
    assert result.code == "expired"
    assert result.reason.startswith("expired on 2026-12-23")
    # Still valid at the last second.
    assert fmt.verify(token, public, at=NOW + timedelta(days=30)).valid


def test_wrong_key_fails_with_signed_by_a_different_key(key: OKPKey) -> None:
    other = fmt.load_public_key(fmt.public_pem(OKPKey.generate_key("Ed25519")))
    result = fmt.verify(make_token(key), other, at=NOW)
    assert not result.valid
    assert result.code == "wrong_key"
    assert result.reason.startswith("signed by a different key")


def test_forged_kid_with_another_key_still_fails(key: OKPKey, public: OKPKey) -> None:
    # A forger who copies our kid into their own token gets "signature does not verify".
    forger = OKPKey.generate_key("Ed25519")
    doc = json.loads(fmt._b64d_strict(make_token(key).split(".")[1]))
    from joserfc import jws

    forged = jws.serialize_compact(
        {"alg": "Ed25519", "typ": "vc+jwt", "kid": fmt.key_id(key)},
        json.dumps(doc).encode(),
        forger,
        algorithms=["Ed25519"],
    )
    assert fmt.verify(forged, public, at=NOW).code == "bad_signature"


def test_not_yet_valid(key: OKPKey, public: OKPKey) -> None:
    result = fmt.verify(make_token(key), public, at=NOW - timedelta(minutes=5))
    assert result.code == "not_yet_valid"
    assert not result.valid


@pytest.mark.parametrize(
    "text",
    ["", "hello", "not.a.jws with spaces", "{}"],
)
def test_text_without_a_credential_is_refused(public: OKPKey, text: str) -> None:
    with pytest.raises(fmt.CredentialFormatError, match="not a credential"):
        fmt.verify(text, public, at=NOW)


def test_token_is_found_in_a_page_or_a_file_with_newline(key: OKPKey, public: OKPKey) -> None:
    token = make_token(key)
    page = f"<html><body><p class='token'>{token}</p></body></html>"
    assert fmt.verify(page, public, at=NOW).valid
    assert fmt.verify(token + "\n", public, at=NOW).valid
    assert fmt.verify(token.encode(), public, at=NOW).valid


def test_public_key_loads_from_pem_jwk_and_jwk_set(key: OKPKey) -> None:
    jwk = fmt.public_jwk(key)
    assert "d" not in jwk  # never the private half
    for text in (fmt.public_pem(key), json.dumps(jwk), json.dumps({"keys": [jwk]})):
        assert fmt.key_id(fmt.load_public_key(text)) == fmt.key_id(key)
    with pytest.raises(fmt.CredentialFormatError, match="not an Ed25519 key"):
        fmt.load_public_key("-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----")


def test_loading_a_private_pem_keeps_only_the_public_half(key: OKPKey) -> None:
    loaded = fmt.load_public_key(key.as_pem(private=True))
    assert loaded.private_key is None
    assert fmt.key_id(loaded) == fmt.key_id(key)


# revocation lists ----------------------------------------------------------------------------
def signed_list(key: OKPKey, revoked: dict[str, datetime], *, next_update: datetime) -> str:
    doc = fmt.build_revocation_list(
        issuer="https://shareguard.example",
        issued_at=NOW,
        next_update=next_update,
        revoked=revoked,
    )
    return fmt.sign(doc, key, typ=fmt.REVOCATION_TYP)


def test_revoked_credential_fails_against_a_signed_list(key: OKPKey, public: OKPKey) -> None:
    cid = uuid.uuid4()
    token = make_token(key, cid=cid)
    when = NOW + timedelta(hours=2)
    lst = fmt.read_revocation_list(
        signed_list(key, {str(cid): when}, next_update=NOW + timedelta(days=1)), public
    )
    result = fmt.verify(token, public, at=NOW + timedelta(hours=3), revocations=lst)
    assert not result.valid
    assert result.code == "revoked"
    assert result.reason.startswith("revoked on 2026-11-23")
    assert result.revoked_at == when
    # Another credential is untouched by the same list, and now revocation was checked.
    other = fmt.verify(make_token(key), public, at=NOW + timedelta(hours=3), revocations=lst)
    assert other.valid
    assert other.revocation_checked
    assert other.warnings == ()


def test_stale_revocation_list_is_used_but_warned_about(key: OKPKey, public: OKPKey) -> None:
    lst = fmt.read_revocation_list(
        signed_list(key, {}, next_update=NOW + timedelta(hours=1)), public
    )
    result = fmt.verify(make_token(key), public, at=NOW + timedelta(hours=5), revocations=lst)
    assert result.valid
    assert any("revocation list is out of date" in w for w in result.warnings)


def test_revocation_list_must_be_signed_by_the_issuer(key: OKPKey, public: OKPKey) -> None:
    other = OKPKey.generate_key("Ed25519")
    with pytest.raises(fmt.CredentialFormatError, match="signed by a different key"):
        fmt.read_revocation_list(signed_list(other, {}, next_update=NOW), public)
    good = signed_list(key, {}, next_update=NOW)
    tampered = flip(good, len(good.split(".")[0]) + 5)
    with pytest.raises(fmt.CredentialFormatError, match="signature does not verify"):
        fmt.read_revocation_list(tampered, public)
    # A credential is not a revocation list (and a list is not a credential).
    with pytest.raises(fmt.CredentialFormatError):
        fmt.read_revocation_list(make_token(key), public)
    assert fmt.verify(good, public, at=NOW).code == "malformed"


def test_revocation_list_accepts_the_api_envelope(key: OKPKey, public: OKPKey) -> None:
    envelope = json.dumps({"revocation_list": signed_list(key, {}, next_update=NOW)})
    assert fmt.read_revocation_list(envelope, public).next_update == NOW


# the issuing key -----------------------------------------------------------------------------
def test_issuing_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    first = keys.issuing_key(key_dir)
    path = keys.key_path(key_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fmt.key_id(keys.issuing_key(key_dir)) == fmt.key_id(first)
    assert keys.public_key(key_dir).private_key is None
    assert list(key_dir.iterdir()) == [path]  # no temporary file left behind


def test_qr_code_fits_a_printable_symbol(key: OKPKey) -> None:
    token = make_token(key)
    code = qr.qr_code(token)
    assert code.mode == "byte"
    assert code.version <= 30  # phone cameras read it printed at 7 cm
    svg = qr.qr_svg(token)
    assert svg.startswith("<svg")
    assert qr.qr_png(token).startswith(b"\x89PNG")


def test_scanned_qr_code_gives_back_the_token_which_verifies(
    key: OKPKey, public: OKPKey, tmp_path: Path
) -> None:
    need(shutil.which("zbarimg") is not None, "needs zbarimg (Debian: zbar-tools)")
    token = make_token(key)
    image = tmp_path / "qr.png"
    image.write_bytes(qr.qr_png(token))
    scanned = subprocess.run(
        ["zbarimg", "-q", "--raw", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert scanned == token
    assert fmt.verify(scanned, public, at=NOW).valid

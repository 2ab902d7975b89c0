"""What anyone may fetch without signing in: the issuing public key and the revocation list."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from typing import Any

from shareguard.config import Settings
from shareguard.credentials import format as fmt
from shareguard.credentials import keys


def test_public_key_is_served_as_pem_and_jwk_without_auth(client: Any, settings: Settings) -> None:
    resp = client.get("/api/v1/credentials/public-key")
    assert resp.status_code == 200
    body = resp.json()
    pem_key = fmt.load_public_key(body["pem"])
    jwk_key = fmt.load_public_key(json.dumps(body["jwk"]))
    assert fmt.key_id(pem_key) == fmt.key_id(jwk_key) == body["kid"] == body["jwk"]["kid"]
    assert fmt.key_id(fmt.load_public_key(resp.text)) == body["kid"]  # the body as saved
    assert body["alg"] == "Ed25519"
    assert "d" not in body["jwk"]  # never the private half
    # Created on first use, in the key directory, readable by the owner only; stable after.
    path = keys.key_path(settings.key_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert client.get("/api/v1/credentials/public-key").json()["kid"] == body["kid"]


def test_revocation_list_is_signed_and_fresh(client: Any) -> None:
    key = fmt.load_public_key(client.get("/api/v1/credentials/public-key").json()["pem"])
    resp = client.get("/api/v1/credentials/revocations")
    assert resp.status_code == 200
    body = resp.json()
    lst = fmt.read_revocation_list(resp.text, key)  # the envelope as served
    assert lst.revoked == {}
    assert body["count"] == 0
    now = datetime.now(UTC)
    assert now - timedelta(minutes=1) <= lst.issued_at <= now + timedelta(seconds=1)
    assert lst.next_update == lst.issued_at + timedelta(hours=24)
    assert lst.fresh_at(now)

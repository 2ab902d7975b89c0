"""Partners' machine clients: a registered public key, a signed assertion (RFC 7523) traded at
POST /api/v1/oauth/token for a short-lived access token the API accepts beside API keys."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from shareguard.audit import AuditEntry
from shareguard.signin.models import AccessToken, ClientAssertion, ClientKey
from shareguard.storage import db
from shareguard.storage.base import utcnow
from tests.factories import TestWorld, bearer, integrated

TOKEN_URL = "https://testserver/api/v1/oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def client(app: Any) -> Any:
    """The API over HTTPS, as partners reach it (Authlib refuses plain HTTP off loopback)."""
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def rsa() -> RSAKey:
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    return key


def register(
    client: TestClient, world: TestWorld, key: Any, *agreements: uuid.UUID
) -> dict[str, Any]:
    """An officer registers the public half of ``key`` for Test Agency."""
    answer = client.post(
        f"/api/v1/organisations/{world.orgs['agency']}/clients",
        headers=bearer(world.keys["officer"]),
        json={
            "name": "Agency case system",
            "jwk": key.as_dict(private=False),
            "agreement_ids": [str(a) for a in agreements],
        },
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def assertion(
    client_id: str, key: Any, *, alg: str = "RS256", sign_with: Any = None, **claims: Any
) -> str:
    now = int(time.time())
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": key.kid}, body, sign_with or key)


def token_request(client: TestClient, signed: str, **form: str) -> Any:
    return client.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
            **form,
        },
    )


def failures(session: Session) -> list[dict[str, Any]]:
    session.expire_all()
    integrated(session)
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "signin.failure").order_by(AuditEntry.seq)
    )
    return [dict(e.details or {}) for e in rows]


def test_a_signed_assertion_gets_a_short_lived_token_the_api_accepts(
    client: TestClient, world: TestWorld, session: Session
) -> None:
    key = rsa()
    agreement = world.agreement()
    registered = register(client, world, key, agreement)
    assert registered["client_id"].startswith("sgc_") and "d" not in registered["jwk"]
    answer = token_request(client, assertion(registered["client_id"], key))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert "refresh_token" not in body
    who = client.get("/api/v1/whoami", headers=bearer(body["access_token"]))
    assert who.status_code == 200
    assert who.json() == {
        "organisation_id": str(world.orgs["agency"]),
        "user_id": None,
        "roles": ["partner_user"],
        "agreement_scope": [str(agreement)],
    }
    # Only a hash of the token is kept.
    stored = session.scalar(select(AccessToken))
    assert stored is not None and body["access_token"] not in stored.token_hash
    integrated(session)
    logged = [
        (e.action, (e.details or {}).get("kind"))
        for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
    ]
    assert ("client.register", None) in logged and ("signin.success", "partner_client") in logged


def test_an_ec_p256_key_works_too(client: TestClient, world: TestWorld) -> None:
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    registered = register(client, world, key)
    answer = token_request(client, assertion(registered["client_id"], key, alg="ES256"))
    assert answer.status_code == 200, answer.text


def test_a_replayed_assertion_is_refused(
    client: TestClient, world: TestWorld, session: Session
) -> None:
    key = rsa()
    registered = register(client, world, key)
    signed = assertion(registered["client_id"], key)
    assert token_request(client, signed).status_code == 200
    again = token_request(client, signed)
    assert again.status_code == 401
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["error"] == "invalid_client" and again.json()["status"] == 401
    assert again.json()["type"].endswith("/problems/oauth-invalid-client")
    assert failures(session)[-1]["reason"] == "replay"
    assert session.scalar(select(ClientAssertion)) is not None, "the jti is kept until exp"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"sign_with": "other"}, "signature"),
        ({"aud": "https://elsewhere.example/token"}, "aud"),
        ({"exp": -60, "iat": -400}, "expired"),
        ({"exp": 3600}, "lifetime"),
        ({"jti": None}, "jti"),
        ({"jti": "short"}, "jti"),
        ({"alg": "HS256"}, "algorithm"),
    ],
)
def test_an_assertion_that_fails_its_checks_is_refused(
    client: TestClient, world: TestWorld, session: Session, claims: dict[str, Any], reason: str
) -> None:
    key = rsa()
    registered = register(client, world, key)
    now = int(time.time())
    options: dict[str, Any]
    if "sign_with" in claims:
        options = {"sign_with": rsa()}
    elif "alg" in claims:
        options = {"alg": "HS256", "sign_with": OctKey.import_key(secrets.token_bytes(32))}
    else:
        options = {k: (now + v if k in ("exp", "iat") else v) for k, v in claims.items()}
    answer = token_request(client, assertion(registered["client_id"], key, **options))
    assert answer.status_code == 401, answer.text
    problem = answer.json()
    assert problem["error"] == "invalid_client" and problem["title"]
    assert "access_token" not in problem
    assert failures(session)[-1]["reason"] == reason
    assert session.scalar(select(AccessToken)) is None


def test_plain_http_is_refused(app: Any, world: TestWorld) -> None:
    with TestClient(app) as plain:
        answer = plain.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"})
    assert answer.status_code == 400 and answer.json()["error"] == "insecure_transport"


def test_other_refusals_name_their_rfc_6749_error(client: TestClient, world: TestWorld) -> None:
    key = rsa()
    registered = register(client, world, key)
    wrong_grant = token_request(
        client, assertion(registered["client_id"], key), grant_type="password"
    )
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    unknown = token_request(client, assertion("sgc_nobody", key))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    nothing = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"})
    assert nothing.status_code in (400, 401) and "error" in nothing.json()


def test_a_revoked_client_gets_no_token_and_its_tokens_stop_working(
    client: TestClient, world: TestWorld, session: Session
) -> None:
    key = rsa()
    registered = register(client, world, key)
    issued = token_request(client, assertion(registered["client_id"], key)).json()
    assert client.get("/api/v1/whoami", headers=bearer(issued["access_token"])).status_code == 200
    revoked = client.post(
        f"/api/v1/clients/{registered['id']}/revoke", headers=bearer(world.keys["officer"])
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/v1/whoami", headers=bearer(issued["access_token"])).status_code == 401
    refused = token_request(client, assertion(registered["client_id"], key))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert failures(session)[-1]["reason"] == "revoked"
    integrated(session)
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "client.revoke"))


def test_an_expired_access_token_is_refused(
    client: TestClient, world: TestWorld, session: Session
) -> None:
    key = rsa()
    registered = register(client, world, key)
    issued = token_request(client, assertion(registered["client_id"], key)).json()
    session.execute(update(AccessToken).values(expires_at=utcnow()))
    session.commit()
    answer = client.get("/api/v1/whoami", headers=bearer(issued["access_token"]))
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("jwk", "field"),
    [
        (lambda: RSAKey.generate_key(2048, private=True).as_dict(private=True), "jwk"),
        (lambda: RSAKey.generate_key(1024, private=True).as_dict(private=False), "jwk.n"),
        (lambda: {"kty": "oct", "k": "c2VjcmV0"}, "jwk"),
        (lambda: {"keys": []}, "jwk"),
        (lambda: {"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "jwk"),
        (lambda: {**ECKey.generate_key("P-256").as_dict(), "crv": "secp256k1"}, "jwk.crv"),
        (lambda: ECKey.generate_key("P-384").as_dict(private=False), "jwk.crv"),
        (lambda: {**RSAKey.generate_key(2048).as_dict(private=False), "alg": "PS256"}, "jwk.alg"),
        (lambda: OKPKey.generate_key("Ed25519").as_dict(private=False), "jwk.kty"),
    ],
)
def test_only_a_sound_public_key_is_registered(
    client: TestClient, world: TestWorld, session: Session, jwk: Any, field: str
) -> None:
    answer = client.post(
        f"/api/v1/organisations/{world.orgs['agency']}/clients",
        headers=bearer(world.keys["officer"]),
        json={"name": "bad", "jwk": jwk()},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert '"d"' not in answer.text
    assert session.scalar(select(ClientKey)) is None


def test_a_partner_cannot_register_a_client(client: TestClient, world: TestWorld) -> None:
    answer = client.post(
        f"/api/v1/organisations/{world.orgs['agency']}/clients",
        headers=bearer(world.keys["agency"]),
        json={"name": "mine", "jwk": rsa().as_dict(private=False)},
    )
    assert answer.status_code == 403


def test_the_openapi_document_declares_client_credentials(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["partnerClient"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/api/v1/oauth/token"
    assert {"partnerClient": []} in spec["security"] and {"apiKey": []} in spec["security"]
    assert spec["paths"]["/api/v1/oauth/token"]["post"]["security"] == []


def test_the_cli_registers_lists_and_revokes_a_client(
    monkeypatch: pytest.MonkeyPatch, session: Session, world: TestWorld, tmp_path: Any
) -> None:
    from shareguard.cli import app

    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())
    runner = CliRunner()
    path = tmp_path / "agency.jwk.json"
    path.write_text(json.dumps(rsa().as_dict(private=False)))
    made = runner.invoke(
        app,
        [
            "signin",
            "register-client",
            "--organisation",
            "Test Agency",
            "--name",
            "batch",
            "--jwk",
            str(path),
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    client_key_id = json.loads(made.stdout)["id"]
    listed = runner.invoke(app, ["signin", "clients", "--organisation", "Test Agency", "--json"])
    assert [c["id"] for c in json.loads(listed.stdout)] == [client_key_id]
    assert runner.invoke(app, ["signin", "revoke-client", client_key_id]).exit_code == 0
    path.write_text(json.dumps(rsa().as_dict(private=True)))
    private = runner.invoke(
        app,
        [
            "signin",
            "register-client",
            "--organisation",
            "Test Agency",
            "--name",
            "x",
            "--jwk",
            str(path),
        ],
    )
    assert private.exit_code == 2 and "private" in private.output
    assert "Traceback" not in private.output
    path.write_text(json.dumps(rsa().as_dict(private=False)))
    long_name = runner.invoke(
        app,
        [
            "signin",
            "register-client",
            "--organisation",
            "Test Agency",
            "--name",
            "n" * 201,
            "--jwk",
            str(path),
        ],
    )
    assert long_name.exit_code == 2 and "name" in long_name.output


def test_a_flood_of_bad_assertions_is_throttled_and_does_not_grow_the_log(
    client: TestClient, world: TestWorld, session: Session
) -> None:
    from shareguard.signin.throttle import ACCOUNT_LIMIT, ADDRESS_LIMIT

    key = rsa()
    registered = register(client, world, key)
    for _ in range(ADDRESS_LIMIT):
        bad = token_request(client, assertion(registered["client_id"], key, sign_with=rsa()))
        assert bad.status_code == 401
    refused = token_request(client, assertion(registered["client_id"], key))
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert refused.headers["content-type"] == "application/problem+json"
    logged = failures(session)
    assert len(logged) == ACCOUNT_LIMIT, "the client's failures are audited up to the limit"
    assert logged[-1]["quiet"] is True and logged[0]["quiet"] is False

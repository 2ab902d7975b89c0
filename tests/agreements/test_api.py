"""The agreement API: authentication, roles, key scoping, problem+json."""

from __future__ import annotations

import re

from shareguard.accounts.service import AccountService
from tests.factories import agreement_fields, bearer

PROBLEM = "application/problem+json"


def _body(**overrides):
    fields = agreement_fields(**overrides)
    fields["parties"] = [p.model_dump() for p in fields["parties"]]
    for k in ("dpia_date", "start_date", "review_date"):
        fields[k] = fields[k].isoformat()
    return fields


#: Routes anyone may call: health, the transparency register, the keys and checkpoint an
#: outside verifier needs, and the credential revocation list.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/api/v1/transparency"),
    ("GET", "/api/v1/transparency.csv"),
    ("GET", "/api/v1/audit/public-key"),
    ("GET", "/api/v1/audit/checkpoint"),
    ("GET", "/api/v1/audit/checkpoint.txt"),
    ("GET", "/api/v1/credentials/public-key"),
    ("GET", "/api/v1/credentials/revocations"),
}
#: The partner token endpoint authenticates the client by the assertion in its body (RFC 7523):
#: without one (or over plain HTTP, as here) it answers an RFC 6749 error and no token.
CLIENT_ASSERTION = {("POST", "/api/v1/oauth/token")}


def test_every_api_route_needs_authentication_except_the_public_ones(client, world):
    schema = client.get("/openapi.json").json()
    checked = 0
    for path, ops in schema["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "01a20a00-0000-7000-8000-000000000000", path)
        for method in ops:
            if (method.upper(), path) in PUBLIC:
                continue
            resp = client.request(method.upper(), concrete)
            checked += 1
            if (method.upper(), path) in CLIENT_ASSERTION:
                assert resp.status_code in {400, 401}, (method, path, resp.status_code)
                assert resp.json()["error"] and "access_token" not in resp.json()
            else:
                assert resp.status_code == 401, (method, path, resp.status_code)
            assert resp.headers["content-type"] == PROBLEM
    assert checked >= 40
    for method, path in PUBLIC:
        assert client.request(method, path).status_code in {200, 404}, path
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/transparency").status_code == 200


def test_officer_creates_and_another_signs_off_over_http(client, world):
    resp = client.post(
        "/api/v1/agreements", json=_body(reference="HTTP-1"), headers=bearer(world.keys["officer"])
    )
    assert resp.status_code == 201, resp.text
    a = resp.json()
    assert a["state"] == "draft" and a["events"][0]["action"] == "create"
    self_sign = client.post(
        f"/api/v1/agreements/{a['id']}/activate", headers=bearer(world.keys["officer"])
    )
    assert self_sign.status_code == 403
    assert self_sign.headers["content-type"] == PROBLEM
    assert "other than the author" in self_sign.json()["detail"]
    ok = client.post(
        f"/api/v1/agreements/{a['id']}/activate", headers=bearer(world.keys["officer2"])
    )
    assert ok.status_code == 200 and ok.json()["state"] == "active" and ok.json()["in_force"]


def test_partner_key_cannot_create_or_read_other_organisations_agreements(client, world, session):
    mine = world.agreement()  # recipient: Test Agency
    other = world.agreement(
        parties=[
            {"organisation": "Test Department", "role": "discloser"},
            {"organisation": "Test Bank", "role": "recipient"},
        ]
    )
    agency = bearer(world.keys["agency"])
    assert client.post("/api/v1/agreements", json=_body(), headers=agency).status_code == 403
    listed = client.get("/api/v1/agreements", headers=agency).json()
    assert [a["id"] for a in listed["items"]] == [str(mine)]
    assert client.get(f"/api/v1/agreements/{mine}", headers=agency).status_code == 200
    hidden = client.get(f"/api/v1/agreements/{other}", headers=agency)
    assert hidden.status_code == 404 and hidden.headers["content-type"] == PROBLEM
    assert (
        client.get(f"/api/v1/organisations/{world.orgs['bank']}/keys", headers=agency).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/organisations/{world.orgs['agency']}/keys", headers=agency).status_code
        == 200
    )


def test_key_scoped_to_agreements_and_revocation(client, world, session):
    a1 = world.agreement()
    accounts = AccountService(session)
    key, token = accounts.issue_key(world.orgs["agency"], "scoped", agreement_ids=[a1])
    session.commit()  # the test is the boundary: services never commit
    who = client.get("/api/v1/whoami", headers=bearer(token)).json()
    assert who["agreement_scope"] == [str(a1)]
    assert who["roles"] == ["partner_user"]
    accounts.revoke_key(key.id)
    session.commit()
    resp = client.get("/api/v1/whoami", headers=bearer(token))
    assert resp.status_code == 401 and resp.json()["detail"] == "API key revoked"
    wrong = client.get("/api/v1/whoami", headers=bearer(token[:-2] + "xx"))
    assert wrong.status_code == 401 and wrong.json()["detail"] == "API key not recognised"


def test_api_key_is_stored_hashed(world, session):
    from shareguard.accounts.models import ApiKey

    for key in session.query(ApiKey):
        assert all(key.secret_hash not in token for token in world.keys.values())
        assert len(key.secret_hash) == 64


def test_validation_errors_are_problem_json_naming_the_field(client, world):
    body = _body(purposes=["mind_reading"])
    resp = client.post("/api/v1/agreements", json=body, headers=bearer(world.keys["officer"]))
    assert resp.status_code == 422
    assert resp.headers["content-type"] == PROBLEM
    problem = resp.json()
    assert problem["field"] == "purposes[0]"
    assert problem["title"] == "Invalid input"
    # The message names the field and what is accepted, never the value sent (issue 16).
    assert "unknown purpose" in problem["detail"] and "mind_reading" not in problem["detail"]
    duplicate = _body(reference="DUP-1")
    assert (
        client.post(
            "/api/v1/agreements", json=duplicate, headers=bearer(world.keys["officer"])
        ).status_code
        == 201
    )
    again = client.post("/api/v1/agreements", json=duplicate, headers=bearer(world.keys["officer"]))
    assert again.status_code == 409 and again.json()["field"] == "reference"
    assert (
        client.get("/api/v1/agreements", headers=bearer(world.keys["officer"])).json()["total"] == 1
    )


def test_list_paginates(client, world):
    for i in range(3):
        world.agreement(reference=f"PAGE-{i}")
    page = client.get(
        "/api/v1/agreements?limit=2&offset=1", headers=bearer(world.keys["officer"])
    ).json()
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 1
    assert [a["reference"] for a in page["items"]] == ["PAGE-1", "PAGE-2"]
    bad = client.get("/api/v1/agreements?limit=0", headers=bearer(world.keys["officer"]))
    assert bad.status_code == 422 and bad.json()["field"] == "limit"

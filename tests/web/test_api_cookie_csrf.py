"""The API accepts the console's cookie for a state change only with the console's CSRF
token (X-CSRF-Token) and from its own origin; bearer keys are unaffected."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import TestWorld, bearer
from tests.web.console_helpers import csrf, sign_in

PAUSE = {"title": "No sharing for a test", "reason": "testing cookie writes"}


def test_a_cookie_without_the_csrf_token_cannot_pause_or_revoke(
    client: TestClient, world: TestWorld
) -> None:
    sign_in(client, "officer")
    key = client.get(f"/api/v1/organisations/{world.orgs['bank']}/keys").json()[0]["id"]
    hostile = {"Origin": "https://evil.example"}
    assert client.post("/api/v1/pauses", json=PAUSE, headers=hostile).status_code == 403
    assert client.post(f"/api/v1/keys/{key}/revoke", headers=hostile).status_code == 403
    token = csrf(client, "/console")
    # The right token from a hostile page's origin is refused too.
    both = {**hostile, "X-CSRF-Token": token}
    assert client.post(f"/api/v1/keys/{key}/revoke", headers=both).status_code == 403
    assert client.get("/api/v1/whoami", headers=bearer(world.keys["bank"])).status_code == 200
    # The console's own page, with its token, may.
    own = {"Origin": "http://testserver", "X-CSRF-Token": token}
    assert client.post("/api/v1/pauses", json=PAUSE, headers=own).status_code == 201


def test_bearer_keys_need_no_csrf_token(client: TestClient, world: TestWorld) -> None:
    response = client.post(
        "/api/v1/pauses",
        json=PAUSE,
        headers={**bearer(world.keys["officer"]), "Origin": "https://evil.example"},
    )
    assert response.status_code == 201

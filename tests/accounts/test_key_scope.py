"""A key manages other keys only when its reach covers theirs; rotation never widens a key."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from shareguard.accounts.service import AccountService
from shareguard.audit import AuditEntry
from shareguard.storage.base import utcnow
from tests.factories import TestWorld, bearer


def _scoped(world: TestWorld, *agreements: uuid.UUID, name: str = "scoped") -> tuple[Any, str]:
    key, token = AccountService(world.session).issue_key(
        world.orgs["agency"], name, agreement_ids=list(agreements)
    )
    world.session.commit()
    return key, token


def _agency_key_id(world: TestWorld) -> uuid.UUID:
    keys = AccountService(world.session).keys(world.orgs["agency"])
    found = next(k.id for k in keys if not k.agreement_ids)
    world.session.commit()  # end the read: SQLite's one writer is the app's during the call
    return found


def test_a_scoped_key_cannot_see_rotate_or_revoke_an_unscoped_key(
    client: TestClient, world: TestWorld
) -> None:
    agreement = world.agreement()
    _, token = _scoped(world, agreement)
    unscoped = _agency_key_id(world)
    listed = client.get(f"/api/v1/organisations/{world.orgs['agency']}/keys", headers=bearer(token))
    assert listed.status_code == 200
    assert str(unscoped) not in {k["id"] for k in listed.json()}
    rotated = client.post(f"/api/v1/keys/{unscoped}/rotate", headers=bearer(token))
    assert rotated.status_code == 404, rotated.text
    revoked = client.post(f"/api/v1/keys/{unscoped}/revoke", headers=bearer(token))
    assert revoked.status_code == 404
    # The unscoped key still works: nothing was rotated away or revoked.
    assert client.get("/api/v1/whoami", headers=bearer(world.keys["agency"])).status_code == 200


def test_a_scoped_key_cannot_reach_a_key_scoped_outside_its_own(
    client: TestClient, world: TestWorld
) -> None:
    mine, other = world.agreement(), world.agreement()
    _, token = _scoped(world, mine)
    wider, _ = _scoped(world, mine, other, name="wider")
    elsewhere, _ = _scoped(world, other, name="elsewhere")
    same, _ = _scoped(world, mine, name="same")
    listed = client.get(f"/api/v1/organisations/{world.orgs['agency']}/keys", headers=bearer(token))
    ids = {k["id"] for k in listed.json()}
    assert str(same.id) in ids and not {str(wider.id), str(elsewhere.id)} & ids
    for key in (wider, elsewhere):
        assert (
            client.post(f"/api/v1/keys/{key.id}/revoke", headers=bearer(token)).status_code == 404
        )
    assert client.post(f"/api/v1/keys/{same.id}/revoke", headers=bearer(token)).status_code == 200


def test_rotating_a_scoped_key_keeps_its_scope(client: TestClient, world: TestWorld) -> None:
    agreement = world.agreement()
    key, token = _scoped(world, agreement)
    rotated = client.post(f"/api/v1/keys/{key.id}/rotate", headers=bearer(token))
    assert rotated.status_code == 201, rotated.text
    new_token = rotated.json()["token"]
    who = client.get("/api/v1/whoami", headers=bearer(new_token)).json()
    assert who["agreement_scope"] == [str(agreement)]
    assert rotated.json()["agreement_ids"] == [str(agreement)]


def test_an_unscoped_partner_key_cannot_manage_a_staff_users_key(
    client: TestClient, world: TestWorld
) -> None:
    accounts = AccountService(world.session)
    staff = accounts.create_user(
        world.orgs["agency"], "agency-admin@test.example", "admin", ["auditor"], "x" * 12
    )
    key, _ = accounts.issue_key(world.orgs["agency"], "personal", user_id=staff.id)
    world.session.commit()
    response = client.post(f"/api/v1/keys/{key.id}/revoke", headers=bearer(world.keys["agency"]))
    assert response.status_code == 404


def test_key_changes_are_audited_without_secrets(client: TestClient, world: TestWorld) -> None:
    org = world.orgs["bank"]
    issued = client.post(
        f"/api/v1/organisations/{org}/keys",
        json={"name": "bank batch"},
        headers=bearer(world.keys["officer"]),
    )
    assert issued.status_code == 201
    key_id = issued.json()["id"]
    assert (
        client.post(f"/api/v1/keys/{key_id}/rotate", headers=bearer(world.keys["bank"])).status_code
        == 201
    )
    assert (
        client.post(f"/api/v1/keys/{key_id}/revoke", headers=bearer(world.keys["bank"])).status_code
        == 200
    )
    world.session.expire_all()
    entries = list(
        world.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_(["key.issue", "key.rotate", "key.revoke"]))
            .order_by(AuditEntry.at)  # when each was recorded (numbers come at integration)
        )
    )
    mine = [e for e in entries if key_id in (e.details["key_id"], e.details.get("replaces"))]
    assert [e.action for e in mine] == ["key.issue", "key.rotate", "key.revoke"]
    assert mine[0].actor_user_id == world.users["officer"]
    # A token is sg_<prefix>_<secret>; the secret itself may contain "_".
    secret = issued.json()["token"].split("_", 2)[2]
    assert len(secret) >= 32
    assert all(secret not in str(e.details) for e in entries)


def test_a_key_cannot_be_issued_already_expired(client: TestClient, world: TestWorld) -> None:
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    response = client.post(
        f"/api/v1/organisations/{world.orgs['bank']}/keys",
        json={"name": "stale", "expires_at": past},
        headers=bearer(world.keys["officer"]),
    )
    assert response.status_code == 422 and response.json()["field"] == "expires_at"

"""Assisted digital: a caseworker issues, prints and revokes a credential for a person."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shareguard.credentials.models import Credential
from tests.credentials.conftest import audit, make_person
from tests.web.console_helpers import csrf, error_messages, sign_in


def _count(world: Any) -> int:
    n = world.session.scalar(select(func.count()).select_from(Credential)) or 0
    world.session.rollback()  # end the read: on SQLite the app's request needs the lock
    return int(n)


def test_caseworker_issues_prints_and_revokes_for_the_person(
    client: TestClient, world: Any
) -> None:
    person = make_person(world)
    sign_in(client, "caseworker")
    record = client.get(f"/casework/people/{person}").text
    assert f'href="/casework/people/{person}/credentials"' in record
    url = f"/casework/people/{person}/credentials"
    page = client.get(url).text
    assert "They do not have any credentials yet" in page and "Testa Exampleperson" in page

    token = csrf(client, url)
    missing = client.post(url, data={"csrf_token": token})
    assert missing.status_code == 422
    assert error_messages(missing.text) == ["Select what the person needs to prove"]
    assert _count(world) == 0

    done = client.post(url, data={"csrf_token": token, "purpose": "right_to_work"})
    assert done.status_code == 200 and "Credential issued: Right to work" in done.text
    cid = re.search(r'id="credential-([0-9a-f-]{36})"', done.text)
    assert cid and "Valid" in done.text
    printed = client.get(f"{url}/{cid.group(1)}/print")
    assert printed.status_code == 200 and "<svg" in printed.text
    issued = audit(world.session, "credential.issue")
    assert len(issued) == 1 and issued[0].actor_user_id == world.users["caseworker"]
    world.session.rollback()

    revoke = f"{url}/{cid.group(1)}/revoke"
    no_reason = client.post(revoke, data={"csrf_token": token})
    assert no_reason.status_code == 422
    assert error_messages(no_reason.text) == ["Select why the credential is being revoked"]
    gone = client.post(revoke, data={"csrf_token": token, "reason": "lost"})
    assert "Credential revoked" in gone.text and "Revoked" in gone.text
    assert f"{cid.group(1)}/print" not in gone.text  # nothing to print once revoked


def test_a_status_that_does_not_confirm_the_purpose_issues_nothing(
    client: TestClient, world: Any
) -> None:
    person = make_person(world, may_work=False)
    sign_in(client, "caseworker")
    url = f"/casework/people/{person}/credentials"
    refused = client.post(url, data={"csrf_token": csrf(client, url), "purpose": "right_to_work"})
    assert refused.status_code == 409
    assert "does not confirm this purpose" in error_messages(refused.text)[0]
    assert _count(world) == 0


def test_only_caseworkers_and_only_the_persons_own_credentials(
    client: TestClient, world: Any
) -> None:
    person, other = make_person(world), make_person(world)
    sign_in(client, "caseworker")
    url = f"/casework/people/{other}/credentials"
    client.post(url, data={"csrf_token": csrf(client, url), "purpose": "right_to_work"})
    cid = world.session.scalar(select(Credential.id))
    world.session.rollback()
    # Another person's credential through this person's page: not found, never a hint.
    assert client.get(f"/casework/people/{person}/credentials/{cid}/print").status_code == 404
    assert client.get(f"/casework/people/{uuid.uuid4()}/credentials").status_code == 404
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    for who in ("officer", "agency_user"):
        sign_in(client, who)
        assert client.get(url).status_code == 403
        client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})

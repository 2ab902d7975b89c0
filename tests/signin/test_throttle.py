"""Sign-in throttling per account and per client address; failures audited, counted, and
without personal data; no argon2 work once an account or address is locked."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shareguard.accounts import service as accounts_service
from shareguard.audit import AuditEntry
from shareguard.signin.throttle import ACCOUNT_LIMIT, ADDRESS_LIMIT
from tests.factories import PASSWORD, TestWorld, integrated
from tests.web.console_helpers import csrf
from tests.web.test_person import _details, person

__all__ = ["person"]


def _try(client: TestClient, email: str, password: str) -> int:
    response = client.post(
        "/sign-in",
        data={"csrf_token": csrf(client), "email": email, "password": password, "next": "/console"},
        follow_redirects=False,
    )
    return response.status_code


class CountingHasher:
    """Counts argon2 work (hash and verify) done for sign-ins."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0

    def hash(self, password: str) -> str:
        self.calls += 1
        return str(self.real.hash(password))

    def verify(self, digest: str, password: str) -> bool:
        self.calls += 1
        return bool(self.real.verify(digest, password))


def test_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(
    client: TestClient, world: TestWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(ACCOUNT_LIMIT):
        assert _try(client, "officer@test.example", "wrong-password-0") == 401
    hasher = CountingHasher(accounts_service._hasher)
    monkeypatch.setattr(accounts_service, "_hasher", hasher)
    for _ in range(40):
        assert _try(client, "officer@test.example", "wrong-password-0") == 429
    assert _try(client, "officer@test.example", PASSWORD) == 429
    assert hasher.calls == 0, "a locked account costs no password hashing"
    # Another account from another address is unaffected.
    with TestClient(client.app, client=("203.0.113.9", 50000)) as other:  # type: ignore[arg-type]
        assert _try(other, "caseworker@test.example", PASSWORD) == 303


def test_one_address_trying_many_accounts_is_refused(client: TestClient, world: TestWorld) -> None:
    for i in range(ADDRESS_LIMIT):
        assert _try(client, f"nobody{i}@test.example", "wrong-password-0") == 401
    assert _try(client, "caseworker@test.example", PASSWORD) == 429


def test_failed_and_successful_sign_ins_are_audited_and_counted_without_personal_data(
    client: TestClient, world: TestWorld
) -> None:
    assert _try(client, "officer@test.example", "wrong-password-0") == 401
    assert _try(client, "unknown.person@test.example", "wrong-password-0") == 401
    assert _try(client, "officer@test.example", "wrong-password-1") == 401
    assert _try(client, "officer@test.example", PASSWORD) == 303
    integrated(world.session)  # numbers come at integration, in commit order
    world.session.expire_all()
    entries = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("signin.%")).order_by(AuditEntry.seq)
    ).all()
    assert [(e.action, e.details.get("failures")) for e in entries] == [
        ("signin.failure", 1),
        ("signin.failure", 1),
        ("signin.failure", 2),
        ("signin.success", None),
    ]
    assert entries[0].actor_user_id == world.users["officer"] == entries[3].actor_user_id
    assert entries[1].actor_user_id is None
    text = " ".join(f"{e.details} {e.reasons} {e.subject_ref}" for e in entries)
    assert "test.example" not in text and "wrong-password" not in text and "testclient" not in text


def test_person_detail_guesses_are_throttled_and_audited(
    client: TestClient, world: TestWorld, person: Any
) -> None:
    for i in range(ACCOUNT_LIMIT):
        wrong = client.post("/my/sign-in", data=_details(client, family=f"Wrong{i}"))
        assert wrong.status_code == 422
    locked = client.post("/my/sign-in", data=_details(client))
    assert locked.status_code == 429 and "Too many failed attempts" in locked.text
    integrated(world.session)
    world.session.expire_all()
    entries = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "signin.failure").order_by(AuditEntry.seq)
    ).all()
    assert [e.details["failures"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[-1].details["locked"] is True
    assert all("Wrong" not in str(e.details) and e.subject_ref is None for e in entries)


def test_argon2_work_is_bounded_when_the_server_is_busy(
    client: TestClient, world: TestWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = threading.BoundedSemaphore(1)
    busy.acquire()  # every slot taken by other sign-ins
    monkeypatch.setattr(accounts_service, "_argon2", busy)
    monkeypatch.setattr(accounts_service, "ARGON2_WAIT_SECONDS", 0.05)
    assert _try(client, "officer@test.example", PASSWORD) == 429

"""Sessions are server-side: signing out ends them, they time out, and a password change
signs a user out everywhere. A saved cookie is worth nothing once the server ends it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry
from shareguard.signin.models import SignInSession
from shareguard.signin.sessions import ABSOLUTE_LIFETIME, SessionService
from shareguard.signin.staff import change_password, set_roles
from shareguard.storage.base import utcnow
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, sign_in
from tests.web.test_person import person, sign_in_person

__all__ = ["person"]


def _signed_out(client: TestClient) -> bool:
    page = client.get("/console", follow_redirects=False)
    return page.status_code == 303 and page.headers["location"].startswith("/sign-in")


def test_signing_out_ends_the_session_so_a_saved_cookie_no_longer_works(
    client: TestClient, world: TestWorld
) -> None:
    sign_in(client, "officer")
    saved = client.cookies.get("sg_session")
    assert client.get("/api/v1/whoami").status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    client.cookies.set("sg_session", saved or "")
    assert _signed_out(client)
    assert client.get("/api/v1/whoami").status_code == 401


def test_the_person_signing_out_ends_their_session(client: TestClient, person) -> None:  # type: ignore[no-untyped-def]
    sign_in_person(client)
    saved = client.cookies.get("sg_session")
    assert client.get("/my/account", follow_redirects=False).status_code == 200
    client.post("/my/sign-out", data={"csrf_token": csrf(client, "/my/account")})
    client.cookies.set("sg_session", saved or "")
    assert client.get("/my/account", follow_redirects=False).status_code == 303


def test_a_password_change_signs_the_user_out_everywhere(
    client: TestClient, app, world: TestWorld
) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as laptop:
        sign_in(client, "caseworker")
        sign_in(laptop, "caseworker")
        assert not _signed_out(client) and not _signed_out(laptop)
        ended = change_password(world.session, world.users["caseworker"], "a-new-password-42")
        world.session.commit()
        assert ended == 2
        assert _signed_out(client) and _signed_out(laptop)
    [entry] = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.password_change")
    ).all()
    assert entry.details["user_id"] == str(world.users["caseworker"])
    assert "a-new-password-42" not in str(entry.details)


def test_a_role_change_is_audited_and_ends_the_users_sessions(
    client: TestClient, world: TestWorld
) -> None:
    sign_in(client, "reviewer")
    set_roles(world.session, world.users["reviewer"], ["reviewer", "caseworker"])
    world.session.commit()
    assert _signed_out(client)
    [entry] = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.roles_change")
    ).all()
    assert entry.details["before"] == ["reviewer"]
    assert entry.details["roles"] == ["caseworker", "reviewer"]


def test_sessions_time_out_when_idle_and_after_their_lifetime(
    session: Session, world: TestWorld
) -> None:
    sessions = SessionService(session, idle=timedelta(minutes=30))
    start = utcnow()
    token = sessions.start(user_id=world.users["officer"], now=start)
    assert sessions.resolve(token, now=start + timedelta(minutes=29)) is not None
    assert sessions.resolve(token, now=start + timedelta(minutes=58)) is not None
    assert sessions.resolve(token, now=start + timedelta(minutes=89)) is None
    busy = sessions.start(user_id=world.users["officer"], now=start)
    at = start
    while at < start + ABSOLUTE_LIFETIME - timedelta(minutes=20):
        at += timedelta(minutes=20)
        assert sessions.resolve(busy, now=at) is not None
    assert sessions.resolve(busy, now=start + ABSOLUTE_LIFETIME) is None
    row = session.scalar(select(SignInSession).where(SignInSession.ended_at.is_not(None)))
    assert row is not None and row.end_reason == "timed_out"


def test_the_cookie_carries_a_session_token_not_a_user_id(
    client: TestClient, world: TestWorld
) -> None:
    from tests.signin.test_person_sign_in_pages import cookie_payload

    sign_in(client, "officer")
    payload = cookie_payload(client)
    assert "user_id" not in payload and str(world.users["officer"]) not in str(payload)
    assert set(payload) >= {"sid", "csrf"}


def test_the_cli_changes_a_password_and_signs_the_user_out(
    client: TestClient, world: TestWorld, settings, engine, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from shareguard.cli import app as cli

    sign_in(client, "auditor")
    world.session.commit()
    monkeypatch.setattr("shareguard.storage.db.get_engine", lambda: engine)
    result = CliRunner().invoke(
        cli,
        ["accounts", "set-password", "auditor@test.example"],
        input="another-password-9\nanother-password-9\n",
    )
    assert result.exit_code == 0, result.output
    assert "1 session(s) signed out" in result.output
    assert _signed_out(client)

"""Production refuses demo sign-in: staff sign in through their provider only (no password is
ever checked), the person through theirs only (no on-screen code), and no demo accounts are
offered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from shareguard.config import Settings
from shareguard.signin import keys
from tests.factories import PASSWORD, TestWorld
from tests.signin.provider import TestProvider
from tests.signin.test_person_oidc import actions
from tests.signin.test_staff_oidc import CLIENT_ID, officer, sign_in, staff_settings
from tests.web.console_helpers import csrf

SECRET = "production-secret-0123456789abcdef"


def production(tmp_path: Path, **over: Any) -> Settings:
    return Settings(mode="production", data_dir=tmp_path, secret_key=SECRET, **over)


def test_production_refuses_staff_passwords_in_its_settings(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        production(tmp_path, staff_sign_in="password")
    assert "SHAREGUARD_STAFF_SIGN_IN=password is refused in production" in str(refused.value)
    defaults = production(tmp_path)
    assert (defaults.staff_method, defaults.person_method) == ("oidc", "oidc")


@pytest.fixture
def prod(
    tmp_path: Path, engine: Any, provider: TestProvider, world: TestWorld
) -> Iterator[TestClient]:
    """Production, staff signing in through the test provider (registered with it)."""
    from shareguard.web.app import create_app

    mapping = tmp_path / "staff-claims.yaml"
    from tests.signin.test_staff_oidc import MAPPING

    mapping.write_text(MAPPING)
    configured = staff_settings(production(tmp_path), provider, mapping)
    provider.register(
        CLIENT_ID,
        keys.public_jwks(configured.key_dir, ("staff",)),
        ["https://testserver/sign-in/callback"],
    )
    # Production's session cookie is Secure: the browser speaks HTTPS.
    with TestClient(create_app(configured, engine), base_url="https://testserver") as c:
        yield c


def test_production_checks_no_password_even_a_right_one(
    prod: TestClient, provider: TestProvider, world: TestWorld, session: Session
) -> None:
    # The only way in is the provider; signed in that way, the browser has a CSRF token.
    assert sign_in(prod, provider, officer()).status_code == 303
    token = csrf(prod, "/console")
    answer = prod.post(
        "/sign-in",
        data={"csrf_token": token, "email": "caseworker@test.example", "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 404
    who = prod.get("/api/v1/whoami").json()
    assert who["user_id"] == str(world.users["officer"]), "still the officer, not the caseworker"
    logged = actions(session)
    assert [a for a, _ in logged] == ["signin.link", "signin.success"], "no password was tried"
    assert logged[-1][1]["kind"] == "staff_oidc"


def test_production_offers_no_demo_accounts_and_no_on_screen_code(
    tmp_path: Path, engine: Any, world: TestWorld
) -> None:
    from shareguard.web.app import create_app

    with TestClient(create_app(production(tmp_path), engine)) as c:
        page = c.get("/sign-in", follow_redirects=False)
        # No provider configured: sign-in is unavailable, and no form or demo account shown.
        assert page.status_code == 503
        assert "shareguard-demo" not in page.text and "Demo accounts" not in page.text
        assert c.get("/my/sign-in/code").status_code == 404
        assert c.get("/my/sign-in", follow_redirects=False).status_code == 503


def test_demo_mode_keeps_its_demo_accounts(tmp_path: Path, engine: Any) -> None:
    from shareguard.web.app import create_app

    demo = Settings(mode="demo", data_dir=tmp_path, person_code_sender="")
    with TestClient(create_app(demo, engine)) as c:
        page = c.get("/sign-in")
    assert page.status_code == 200 and "shareguard-demo" in page.text

"""The person's sign-in pages: the code never reaches the browser outside demo mode, the
browser holds only a challenge id, and replaying an old cookie buys no more tries."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shareguard.config import Settings
from tests.web.console_helpers import csrf
from tests.web.test_person import _details, person, sent_code

__all__ = ["person"]


def cookie_payload(client: TestClient) -> dict[str, Any]:
    """What the signed ``sg_session`` cookie carries (Starlette: base64 JSON, then signature)."""
    raw = client.cookies.get("sg_session") or ""
    data = raw.split(".", 1)[0]
    return dict(json.loads(base64.b64decode(data + "=" * (-len(data) % 4))))


def _app(settings: Settings, engine: Any, **over: Any) -> Any:
    from shareguard.web.app import create_app

    return create_app(settings.model_copy(update=over), engine)


@pytest.fixture
def production(settings: Settings, engine: Any) -> Iterator[TestClient]:
    """Production mode signing people in with one-time codes (not its default, which is
    OpenID: tests/signin/test_person_oidc.py) through a configured sign-in route (an outbox
    stands in for text messages)."""
    app = _app(settings, engine, mode="production", person_sign_in="code")
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def test_the_cookie_holds_no_code_and_no_counter(client: TestClient, person) -> None:  # type: ignore[no-untyped-def]
    client.post("/my/sign-in", data=_details(client))
    code = sent_code(client)
    payload = cookie_payload(client)
    assert code not in json.dumps(payload)
    assert set(payload) <= {"csrf", "otp", "flash"}
    assert "tries" not in json.dumps(payload) and "digest" not in json.dumps(payload)


def test_production_never_shows_the_code(production: TestClient, person) -> None:  # type: ignore[no-untyped-def]
    answer = production.post("/my/sign-in", data=_details(production))
    assert answer.status_code == 200 and "Enter your security code" in answer.text
    code = sent_code(production)
    assert code not in answer.text and "demo-code" not in answer.text
    assert code not in production.get("/my/sign-in/code").text
    done = production.post(
        "/my/sign-in/code",
        data={"csrf_token": csrf(production, "/my/sign-in/code"), "code": code},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/my/account"


@pytest.mark.parametrize("mode", ["production", "test"])
def test_without_a_sign_in_route_only_demo_mode_signs_people_in(
    settings: Settings, engine: Any, person: Any, mode: str
) -> None:
    app = _app(settings, engine, mode=mode, person_code_sender="", person_sign_in="code")
    with TestClient(app, base_url="https://testserver") as c:
        assert c.get("/my/sign-in").status_code == 503
        if mode == "production":
            # No page offers a form before sign-in (staff sign in through their provider),
            # so no CSRF token either: the post is refused before it reaches the route.
            refused = c.post("/my/sign-in", data=_details_no_csrf())
            assert refused.status_code == 403 and "demo-code" not in refused.text
            return
        token = csrf(c, "/sign-in")
        refused = c.post("/my/sign-in", data={**_details_no_csrf(), "csrf_token": token})
        assert refused.status_code == 503 and "demo-code" not in refused.text
        assert "sign-in route" in refused.text


def _details_no_csrf() -> dict[str, str]:
    return {
        "given": "Ada",
        "family": "Testperson",
        "dob-day": "27",
        "dob-month": "3",
        "dob-year": "1990",
        "document": "ZX9876543",
    }


def test_demo_mode_shows_the_code_once_labelled_as_a_demo(
    settings: Settings, engine: Any, person: Any
) -> None:
    app = _app(settings, engine, mode="demo", person_code_sender="")
    with TestClient(app) as c:
        answer = c.post("/my/sign-in", data=_details(c))
        assert "Demo only" in answer.text and 'id="demo-code"' in answer.text
        assert "demo-code" not in c.get("/my/sign-in/code").text
        assert "demo" not in json.dumps(cookie_payload(c))


def test_replaying_the_cookie_from_before_the_guesses_gives_no_more_tries(
    client: TestClient, person: Any
) -> None:
    client.post("/my/sign-in", data=_details(client))
    code = sent_code(client)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    token = csrf(client, "/my/sign-in/code")
    saved = client.cookies.get("sg_session")
    for _ in range(5):
        assert (
            client.post("/my/sign-in/code", data={"csrf_token": token, "code": wrong}).status_code
            == 422
        )
    client.cookies.set("sg_session", saved or "")
    replay = client.post("/my/sign-in/code", data={"csrf_token": token, "code": code})
    assert replay.status_code == 410
    assert client.get("/my/account", follow_redirects=False).status_code == 303


def test_a_code_signs_in_once_even_if_the_cookie_is_replayed(
    client: TestClient, person: Any
) -> None:
    client.post("/my/sign-in", data=_details(client))
    code = sent_code(client)
    token = csrf(client, "/my/sign-in/code")
    saved = client.cookies.get("sg_session")
    done = client.post(
        "/my/sign-in/code", data={"csrf_token": token, "code": code}, follow_redirects=False
    )
    assert done.status_code == 303
    client.cookies.set("sg_session", saved or "")
    again = client.post(
        "/my/sign-in/code", data={"csrf_token": token, "code": code}, follow_redirects=False
    )
    assert again.status_code == 410

"""The GOV.UK console, server side: register, sign-in, CSRF, roles, agreement lifecycle pages."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from shareguard.agreements.service import AgreementService
from shareguard.web.app import create_app
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages, sign_in


def _ref(world: TestWorld, agreement_id) -> str:  # type: ignore[no-untyped-def]
    return AgreementService(world.session).get(agreement_id).reference


def test_start_page_is_the_public_register_without_drafts(
    client: TestClient, world: TestWorld
) -> None:
    active = _ref(world, world.agreement(title="Licence checks"))
    draft = _ref(world, world.agreement(title="Secret draft", activate=False))
    page = client.get("/")
    assert page.status_code == 200
    assert "Data-sharing agreements" in page.text
    assert active in page.text and "Licence checks" in page.text
    assert draft not in page.text
    assert (
        'href="/api/v1/transparency.csv"' in page.text
        and 'href="/api/v1/transparency"' in page.text
    )
    assert client.get(f"/agreements/{draft}").status_code == 404  # drafts are not public


def test_register_filters_by_status_and_purpose(client: TestClient, world: TestWorld) -> None:
    licence = _ref(world, world.agreement())
    rent = _ref(world, world.agreement(purposes=["right_to_rent"], data_items=["name", "may_rent"]))
    paused = world.agreement()
    AgreementService(world.session).transition(
        paused, "pause", world.principals["officer"], "quality"
    )
    world.session.commit()  # the test is the boundary: services never commit
    paused_ref = _ref(world, paused)
    only_paused = client.get("/?status=paused").text
    assert paused_ref in only_paused and licence not in only_paused
    only_rent = client.get("/?purpose=right_to_rent").text
    assert rent in only_rent and licence not in only_rent
    assert "1 agreement matching your filters" in only_rent


def test_agreement_page_shows_checklist_and_timeline(client: TestClient, world: TestWorld) -> None:
    ref = _ref(world, world.agreement())
    page = client.get(f"/agreements/{ref}").text
    for heading in (
        "Lawfulness, necessity and accountability",
        "Data shared",
        "Individuals&#39; rights and security",
        "Dates, review and ending",
    ):
        assert heading in page
    assert "Test Act 2020 s.1" in page
    assert "Signed off and activated" in page and "Created as a draft" in page
    assert "moj-timeline" in page
    assert "Manage this agreement" not in page  # the public sees no actions


def test_protected_page_redirects_to_sign_in(client: TestClient, world: TestWorld) -> None:
    response = client.get("/console", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=/console")


def test_wrong_password_shows_an_error_and_no_session(client: TestClient, world: TestWorld) -> None:
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": csrf(client),
            "email": "officer@test.example",
            "password": "wrong-password",
        },
    )
    assert response.status_code == 401
    assert error_messages(response.text) == ["Enter a correct email address and password"]
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_sign_in_sets_an_expiring_cookie_and_sign_out_ends_it(
    client: TestClient, world: TestWorld
) -> None:
    first = client.post(
        "/sign-in",
        data={
            "csrf_token": csrf(client),
            "email": "officer@test.example",
            "password": "test-password-123",
            "next": "/agreements",
        },
        follow_redirects=False,
    )
    assert first.headers["location"] == "/agreements"
    cookie = first.headers["set-cookie"].lower()
    assert "max-age=1800" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    home = client.get("/console")
    assert "Signed in as" in home.text and "officer" in home.text
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_sign_in_never_redirects_off_site(client: TestClient, world: TestWorld) -> None:
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": csrf(client),
            "email": "officer@test.example",
            "password": "test-password-123",
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console"


def test_post_without_or_with_wrong_csrf_token_is_refused(
    client: TestClient, world: TestWorld
) -> None:
    ref = _ref(world, world.agreement())
    sign_in(client, "officer")
    for data in ({"reason": "no token"}, {"reason": "bad token", "csrf_token": "forged"}):
        response = client.post(f"/agreements/{ref}/pause", data=data)
        assert response.status_code == 403
        assert "govuk-template" in response.text and "security token" in response.text
    assert AgreementService(world.session).by_reference(ref).state == "active"


def test_officer_pauses_with_a_reason_and_it_shows_in_the_timeline(
    client: TestClient, world: TestWorld
) -> None:
    ref = _ref(world, world.agreement())
    sign_in(client, "officer")
    token = csrf(client, f"/agreements/{ref}/pause")
    missing = client.post(f"/agreements/{ref}/pause", data={"csrf_token": token, "reason": ""})
    assert missing.status_code == 422
    assert error_messages(missing.text) == ["Enter a reason to pause this agreement"]
    done = client.post(
        f"/agreements/{ref}/pause", data={"csrf_token": token, "reason": "Accuracy audit"}
    )
    assert done.status_code == 200 and f"Agreement {ref} paused" in done.text
    assert "Accuracy audit" in done.text and "Resume" in done.text
    world.session.expire_all()
    assert AgreementService(world.session).by_reference(ref).state == "paused"


def test_author_cannot_sign_off_but_a_second_officer_can(
    client: TestClient, world: TestWorld
) -> None:
    ref = _ref(world, world.agreement(activate=False))
    sign_in(client, "officer")  # the author
    refused = client.post(
        f"/agreements/{ref}/activate", data={"csrf_token": csrf(client, "/console")}
    )
    assert refused.status_code == 422
    assert "other than the author" in refused.text
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    sign_in(client, "officer2")
    done = client.post(f"/agreements/{ref}/activate", data={"csrf_token": csrf(client, "/console")})
    assert f"Agreement {ref} signed off and activated" in done.text
    assert "Signed off by officer2" in done.text


def test_review_date_must_be_real_and_in_the_future(client: TestClient, world: TestWorld) -> None:
    ref = _ref(world, world.agreement())
    sign_in(client, "officer")
    token = csrf(client, "/console")
    bad = client.post(
        f"/agreements/{ref}/review",
        data={"csrf_token": token, "review-day": "31", "review-month": "2", "review-year": "2030"},
    )
    assert error_messages(bad.text) == [
        "Enter the next review date as a real date, for example 27 3 2027"
    ]
    past = client.post(
        f"/agreements/{ref}/review",
        data={"csrf_token": token, "review-day": "1", "review-month": "1", "review-year": "2020"},
    )
    assert error_messages(past.text) == ["The next review date must be in the future"]


def test_partner_cannot_use_governance_pages(client: TestClient, world: TestWorld) -> None:
    mine = _ref(world, world.agreement())  # Test Agency is the recipient
    other = _ref(
        world,
        world.agreement(
            parties=[
                {"organisation": "Test Department", "role": "discloser"},
                {"organisation": "Test Bank", "role": "recipient"},
            ]
        ),
    )
    sign_in(client, "agency_user")
    forbidden = client.get(f"/agreements/{mine}/pause")
    assert forbidden.status_code == 403
    assert "You do not have permission to see this page" in forbidden.text
    listing = client.get("/agreements").text
    assert mine in listing and other not in listing
    assert "Firewall and pauses" not in client.get("/console").text


def test_unknown_page_is_a_govuk_404(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.text and "govuk-footer" in response.text


def test_session_expires_after_its_max_age(
    settings, engine, world: TestWorld, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings.model_copy(update={"session_max_age": 60}), engine)
    with TestClient(app) as short:
        sign_in(short, "officer")
        assert short.get("/console", follow_redirects=False).status_code == 200
        cookie = short.cookies.get("sg_session")
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + 61)
        # The browser drops the cookie, and the server refuses it even when replayed.
        assert short.get("/console", follow_redirects=False).status_code == 303
    with TestClient(app) as replay:
        replay.cookies.set("sg_session", cookie)
        response = replay.get("/console", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in")


def test_frontend_assets_are_served_locally(client: TestClient) -> None:
    assert client.get("/static/govuk/govuk-frontend.min.css").status_code == 200
    assert client.get("/assets/images/favicon.svg").status_code == 200  # GOV.UK's asset path
    assert client.get("/assets/images/icon-document.svg").status_code == 200  # MoJ's asset path

"""The person-facing service, server side: one-time-code sign-in, status, share codes."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shareguard.audit.models import AuditEntry
from shareguard.status.models import StatusKind
from shareguard.status.service import StatusService
from tests import factories
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages

DOB = date(1990, 3, 27)
DOCUMENT = "ZX9876543"


@pytest.fixture
def person(world: TestWorld):  # type: ignore[no-untyped-def]
    p = factories.person(world, "Ada", "Testperson", DOB, documents=(DOCUMENT,), commit=False)
    factories.status_record(
        world, p.id, StatusKind.LIMITED_LEAVE, work_conditions="20 hours a week in term time"
    )
    return p


def sent_code(client: TestClient) -> str:
    """The code the configured sign-in route (an outbox in tests) delivered last."""
    return str(client.app.state.code_sender.last())  # type: ignore[attr-defined]


def _details(client: TestClient, **over: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf(client, "/my/sign-in"),
        "given": "Ada",
        "family": "Testperson",
        "dob-day": "27",
        "dob-month": "3",
        "dob-year": "1990",
        "document": DOCUMENT,
    }
    data.update(over)
    return data


def sign_in_person(client: TestClient) -> None:
    response = client.post("/my/sign-in", data=_details(client))
    assert 'id="demo-code"' not in response.text, "outside demo mode no code is on screen"
    done = client.post(
        "/my/sign-in/code",
        data={"csrf_token": csrf(client, "/my/sign-in/code"), "code": sent_code(client)},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/my/account"


def test_start_page_explains_the_service(client: TestClient) -> None:
    page = client.get("/my/")
    assert page.status_code == 200
    assert "View and manage your immigration data" in page.text and "Start now" in page.text


def test_pages_need_sign_in(client: TestClient, world: TestWorld) -> None:
    response = client.get("/my/share-codes", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/my/sign-in")


def test_wrong_details_give_one_message_whichever_was_wrong(client: TestClient, person) -> None:  # type: ignore[no-untyped-def]
    for over in ({"document": "AA0000000"}, {"dob-day": "28"}, {"family": "Otherperson"}):
        response = client.post("/my/sign-in", data=_details(client, **over))
        assert response.status_code == 422
        assert error_messages(response.text) == [
            "We could not find you with those details. Check them and try again"
        ]


def test_details_that_match_two_records_sign_in_to_neither(
    client: TestClient,
    world: TestWorld,
    person,  # type: ignore[no-untyped-def]
) -> None:
    # A duplicate record: the same name, date of birth and document.
    twin = factories.person(world, "Ada", "Testperson", DOB, documents=(DOCUMENT,))
    outbox = client.app.state.code_sender  # type: ignore[attr-defined]
    sent_before = len(outbox.sent)
    response = client.post("/my/sign-in", data=_details(client), follow_redirects=False)
    assert response.status_code == 409
    html = response.text
    assert "We cannot sign you in online" in html and "Ask a caseworker for help" in html
    reference = re.search(r'<strong id="reference">([0-9A-F]{4}-[0-9A-F]{4})</strong>', html)
    assert reference
    # Nothing says how many records there are, or shows anyone's details.
    for leak in ("two records", "more than one", "duplicate", "Testperson", DOCUMENT):
        assert leak not in html
    assert len(outbox.sent) == sent_before  # no code was sent to either record
    assert client.get("/my/account", follow_redirects=False).status_code == 303
    assert client.get("/my/sign-in/code", follow_redirects=False).headers["location"] == (
        "/my/sign-in"
    )
    # The refusal is audited by ids only, findable by the reference the person quotes.
    world.session.rollback()
    entry = world.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "signin.failure")
        .order_by(AuditEntry.seq.desc())
    ).first()
    assert entry is not None and entry.subject_ref is None
    assert entry.details["reason"] == "several_records"
    assert entry.details["reference"] == reference.group(1)
    assert sorted(entry.details["records"]) == sorted([str(person.id), str(twin.id)])
    assert DOCUMENT not in str(entry.details) and "Testperson" not in str(entry.details)


def test_wrong_code_is_refused_then_locked_out(client: TestClient, person) -> None:  # type: ignore[no-untyped-def]
    client.post("/my/sign-in", data=_details(client))
    token = csrf(client, "/my/sign-in/code")
    for _ in range(5):
        wrong = client.post("/my/sign-in/code", data={"csrf_token": token, "code": "000000x"})
        if wrong.status_code == 303:  # vanishingly unlikely: the random code was 000000
            pytest.skip("random code collided with the guess")
        assert wrong.status_code == 422
    assert (
        client.post("/my/sign-in/code", data={"csrf_token": token, "code": "1"}).status_code == 410
    )
    assert client.get("/my/account", follow_redirects=False).status_code == 303


def test_person_sees_status_and_creates_and_cancels_a_share_code(
    client: TestClient, person
) -> None:  # type: ignore[no-untyped-def]
    sign_in_person(client)
    account = client.get("/my/account").text
    assert "Ada Testperson" in account and "Limited leave to remain" in account
    assert "Yes, with conditions: 20 hours a week in term time" in account
    token = csrf(client, "/my/share-codes/new")
    missing = client.post("/my/share-codes/new", data={"csrf_token": token})
    assert error_messages(missing.text) == ["Select what you need to prove"]
    created = client.post(
        "/my/share-codes/new", data={"csrf_token": token, "purpose": "right_to_rent"}
    )
    code = re.search(r'id="share-code">([A-Z0-9 ]{11})<', created.text)
    assert code and "Share code created" in created.text
    assert "share-code" not in client.get("/my/share-codes/created", follow_redirects=False).text
    listing = client.get("/my/share-codes").text
    assert "Right to rent" in listing and code.group(1)[-3:] in listing and "Active" in listing
    code_id = re.search(r'action="/my/share-codes/([0-9a-f-]+)/revoke"', listing)
    assert code_id
    cancelled = client.post(
        f"/my/share-codes/{code_id.group(1)}/revoke", data={"csrf_token": token}
    )
    assert "cancelled" in cancelled.text and "Cancelled" in cancelled.text
    assert (
        StatusService(person_session(person)).share_code_for(code.group(1).replace(" ", "")) is None
    )


def person_session(person):  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import object_session

    s = object_session(person)
    s.expire_all()
    return s


def test_person_cannot_revoke_someone_elses_code(
    client: TestClient, person, world: TestWorld
) -> None:  # type: ignore[no-untyped-def]
    other = factories.person(world, "Bo", "Otherperson", DOB)
    row, _ = factories.share_code(world, other.id)
    sign_in_person(client)
    response = client.post(
        f"/my/share-codes/{row.id}/revoke", data={"csrf_token": csrf(client, "/my/share-codes")}
    )
    assert response.status_code == 404
    world.session.expire_all()
    assert (
        StatusService(world.session)
        .share_codes(other.id, world.principals["caseworker"])[0]
        .revoked_at
        is None
    )


def test_person_signs_out(client: TestClient, person) -> None:  # type: ignore[no-untyped-def]
    sign_in_person(client)
    out = client.post("/my/sign-out", data={"csrf_token": csrf(client, "/my/account")})
    assert "You have signed out" in out.text
    assert client.get("/my/account", follow_redirects=False).status_code == 303

"""Caseworker and partner pages server side: person record, status, checks, referrals."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from shareguard.status.service import StatusService
from tests import factories
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages, sign_in


@pytest.fixture
def person(world: TestWorld):  # type: ignore[no-untyped-def]
    return factories.person(world, "Cy", "Casefile", date(1985, 7, 14), documents=("CF1234567",)).id


def test_caseworker_finds_a_person_and_records_a_status(
    client: TestClient, world: TestWorld, person
) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "caseworker")
    search = {"family": "Casefile", "dob-day": "14", "dob-month": "7", "dob-year": "1985"}
    found = client.post(
        "/casework/people", data={"csrf_token": csrf(client, "/casework/people"), **search}
    )
    assert "1 possible match" in found.text and "Cy Casefile" in found.text
    # A GET never searches: names and dates of birth stay out of URLs and access logs.
    listed = client.get("/casework/people?family=Casefile&dob-day=14&dob-month=7&dob-year=1985")
    assert "Recently registered people" in listed.text and "possible match" not in listed.text
    url = f"/casework/people/{person}/status"
    token = csrf(client, url)
    bad = client.post(
        url,
        data={
            "csrf_token": token,
            "kind": "limited_leave",
            "from-day": "40",
            "from-month": "1",
            "from-year": "2025",
        },
    )
    assert error_messages(bad.text) == [
        "Enter the date the status starts as a real date",
        "Enter the reference of the evidence for this status",
    ]
    done = client.post(
        url,
        data={
            "csrf_token": token,
            "kind": "settled",
            "from-day": "1",
            "from-month": "1",
            "from-year": "2020",
            "may_work": "yes",
            "may_rent": "yes",
            "evidence_ref": "EUSS-123",
        },
    )
    assert done.status_code == 200 and "Status recorded" in done.text
    assert "Settled status (indefinite leave to remain)" in done.text and "EUSS-123" in done.text
    world.session.expire_all()
    current = StatusService(world.session).current_status(person)
    assert current is not None and current.kind == "settled" and current.public_funds is False


def test_referral_is_answered_by_a_caseworker(client: TestClient, world: TestWorld) -> None:
    world.agreement(
        purposes=["bank_account"],
        data_items=["name", "date_of_birth", "lawfully_resident", "valid_until"],
    )
    sign_in(client, "agency_user")
    token = csrf(client, "/checks/new")
    result = client.post(
        "/checks/new",
        data={
            "csrf_token": token,
            "purpose": "bank_account",
            "method": "attributes",
            "given": "Nobody",
            "family": "Unknownperson",
            "dob-day": "1",
            "dob-month": "2",
            "dob-year": "1970",
        },
    )
    assert result.status_code == 200
    assert (
        "Referred to the Home Office" in result.text and "This result is not final" in result.text
    )
    reference = re.search(r'id="check-reference">([0-9a-f-]{36})<', result.text)
    assert reference
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, "caseworker")
    listing = client.get("/casework/contests").text
    assert "1 open case" in listing
    case_url = re.search(r'href="(/casework/cases/[0-9a-f-]+)"', listing)
    assert case_url
    token = csrf(client, case_url.group(1))
    missing = client.post(case_url.group(1), data={"csrf_token": token})
    assert error_messages(missing.text) == [
        "Select the outcome",
        "Explain the outcome; the person and the checker will rely on it",
    ]
    closed = client.post(
        case_url.group(1),
        data={"csrf_token": token, "outcome": "no_record", "note": "No record under any spelling"},
    )
    assert "Case closed" in closed.text and "0 open cases" in closed.text


def test_partner_check_form_validates_and_no_match_says_nothing_more(
    client: TestClient, world: TestWorld
) -> None:
    world.agreement(
        purposes=["right_to_rent"], data_items=["name", "photo_ref", "may_rent", "valid_until"]
    )
    sign_in(client, "agency_user")
    token = csrf(client, "/checks/new")
    empty = client.post("/checks/new", data={"csrf_token": token, "method": "share_code"})
    assert error_messages(empty.text) == [
        "Choose the purpose of the check",
        "Enter the person's date of birth as a real date, for example 27 3 1990",
        "Enter the share code the person gave you",
    ]
    no_match = client.post(
        "/checks/new",
        data={
            "csrf_token": token,
            "purpose": "right_to_rent",
            "method": "share_code",
            "code": "ACE FGH JKM",
            "dob-day": "1",
            "dob-month": "2",
            "dob-year": "1970",
        },
    )
    assert no_match.status_code == 200
    assert "No match" in no_match.text
    assert 'id="check-reference"' in no_match.text


def test_caseworker_pages_are_closed_to_others(
    client: TestClient, world: TestWorld, person
) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "agency_user")
    assert client.get("/casework/people").status_code == 403
    assert client.get(f"/casework/people/{person}").status_code == 403
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    sign_in(client, "officer")
    assert client.get("/checks/new").status_code == 403

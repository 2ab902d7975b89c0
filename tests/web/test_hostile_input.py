"""Hostile numbers, dates and references give a 4xx naming the field, never a 500; a caller
who may not use an endpoint at all gets 403 before any 422."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.factories import TestWorld, bearer
from tests.web.console_helpers import csrf, error_messages, sign_in

HUGE = 2**63

PAGINATED = [
    "/api/v1/agreements",
    "/api/v1/cases",
    "/api/v1/corrections",
    "/api/v1/notices",
    "/api/v1/matching/reviews",
    "/api/v1/quality/findings",
    "/api/v1/persons",
]


@pytest.mark.parametrize("path", PAGINATED)
def test_a_huge_offset_is_a_422_naming_it(client: TestClient, world: TestWorld, path: str) -> None:
    response = client.get(f"{path}?offset={HUGE}", headers=bearer(world.keys["officer"]))
    if response.status_code == 403:  # not the officer's list: try a caseworker, a reviewer
        for who in ("caseworker", "reviewer"):
            response = client.get(f"{path}?offset={HUGE}", headers=bearer(world.keys[who]))
            if response.status_code != 403:
                break
    assert response.status_code == 422, (path, response.text)
    assert response.json()["field"] == "offset"


@pytest.mark.parametrize("seq", [HUGE, HUGE * 4, -1])
def test_a_huge_sequence_number_is_a_422(client: TestClient, world: TestWorld, seq: int) -> None:
    response = client.get(
        f"/api/v1/audit/proofs/inclusion/{seq}", headers=bearer(world.keys["auditor"])
    )
    assert response.status_code == 422 and response.json()["field"] == "seq"
    size = client.get(
        f"/api/v1/audit/proofs/inclusion/1?size={HUGE}", headers=bearer(world.keys["auditor"])
    )
    assert size.status_code == 422 and size.json()["field"] == "size"


def test_the_console_refuses_a_huge_sequence_number(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "auditor")
    assert client.get(f"/governance/audit/proofs/inclusion/{HUGE}.json").status_code == 404
    assert client.get(f"/governance/audit/proofs/consistency.json?old={HUGE}").status_code == 422


@pytest.mark.parametrize("dob", ["0001-01-01", "9999-12-31"])
def test_extreme_dates_on_checks_are_a_422_naming_the_field(
    client: TestClient, world: TestWorld, dob: str
) -> None:
    attributes = client.post(
        "/api/v1/checks/attributes",
        json={"purpose": "right_to_work", "family": "Nobody", "date_of_birth": dob},
        headers=bearer(world.keys["bank"]),
    )
    assert attributes.status_code == 422 and attributes.json()["field"] == "date_of_birth"
    assert dob not in attributes.text
    code = client.post(
        "/api/v1/checks/share-code",
        json={"purpose": "right_to_work", "code": "ABC123DEF", "date_of_birth": dob},
        headers=bearer(world.keys["bank"]),
    )
    assert code.status_code == 422 and code.json()["field"] == "date_of_birth"


@pytest.mark.parametrize("year", ["0001", "9999", "99999999999999999999"])
def test_extreme_dates_in_console_forms_are_form_errors(
    client: TestClient, world: TestWorld, year: str
) -> None:
    me = client.post(
        "/my/sign-in",
        data={
            "csrf_token": csrf(client, "/my/sign-in"),
            "family": "Nobody",
            "document": "AB123",
            "dob-day": "31",
            "dob-month": "12",
            "dob-year": year,
        },
    )
    assert me.status_code == 422 and any("real date" in m for m in error_messages(me.text))
    sign_in(client, "caseworker")
    search = client.post(
        "/casework/people",
        data={
            "csrf_token": csrf(client, "/casework/people"),
            "family": "Nobody",
            "dob-day": "1",
            "dob-month": "1",
            "dob-year": year,
        },
    )
    assert search.status_code == 422
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    sign_in(client, "agency_user")
    check = client.post(
        "/checks/new",
        data={
            "csrf_token": csrf(client, "/checks/new"),
            "method": "attributes",
            "purpose": "driving_licence",
            "family": "Nobody",
            "dob-day": "1",
            "dob-month": "1",
            "dob-year": year,
        },
    )
    assert check.status_code in {200, 422}, check.text[:300]


def test_a_correction_request_for_nobody_is_a_404(client: TestClient, world: TestWorld) -> None:
    response = client.post(
        f"/api/v1/persons/{uuid.uuid4()}/correction-requests",
        json={"what_is_wrong": "my name"},
        headers=bearer(world.keys["caseworker"]),
    )
    assert response.status_code == 404


def test_a_watch_list_proposal_naming_an_unknown_decision_is_a_404(
    client: TestClient, world: TestWorld
) -> None:
    agreement = world.agreement(bulk=True)
    person = factories.person(world, "Ida", "Nodecision", date(1970, 1, 2), commit=False)
    world.session.commit()
    body = {
        "agreement_id": str(agreement),
        "person_id": str(person.id),
        "decision_id": str(uuid.uuid4()),
        "evidence_ref": "EV-1",
    }
    response = client.post(
        "/api/v1/matching/watchlist", json=body, headers=bearer(world.keys["caseworker"])
    )
    assert response.status_code == 404 and response.json()["field"] == "decision_id"
    body["person_id"] = str(uuid.uuid4())
    response = client.post(
        "/api/v1/matching/watchlist", json=body, headers=bearer(world.keys["caseworker"])
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/persons"),
        ("post", "/api/v1/agreements"),
        ("post", "/api/v1/pauses"),
        ("post", "/api/v1/corrections"),
        ("get", "/api/v1/cases?limit=100000"),
    ],
)
def test_a_partner_gets_403_not_422_on_staff_endpoints(
    client: TestClient, world: TestWorld, method: str, path: str
) -> None:
    response = getattr(client, method)(
        path,
        **({"json": {"nonsense": True}} if method == "post" else {}),
        headers=bearer(world.keys["bank"]),
    )
    assert response.status_code == 403, response.text

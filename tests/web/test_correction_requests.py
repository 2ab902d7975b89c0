"""A person asks for a correction; a caseworker answers it; the person reads the answer."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from shareguard.audit.models import AuditEntry
from tests.factories import TestWorld, bearer
from tests.web.console_helpers import csrf, error_messages
from tests.web.test_person import person, sign_in_person  # noqa: F401 - fixture


def test_person_asks_caseworker_answers_person_reads(
    client: TestClient,
    world: TestWorld,
    person,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    sign_in_person(client)
    token = csrf(client, "/my/corrections/request")
    empty = client.post("/my/corrections/request", data={"csrf_token": token})
    assert empty.status_code == 422
    assert error_messages(empty.text) == ["Tell us what is wrong in your record"]
    forged = client.post(
        "/my/corrections/request", data={"csrf_token": "forged", "what_is_wrong": "x"}
    )
    assert forged.status_code == 403
    caseworker = bearer(world.keys["caseworker"])
    assert client.get("/api/v1/correction-requests", headers=caseworker).json() == []

    sent = client.post(
        "/my/corrections/request",
        data={
            "csrf_token": token,
            "what_is_wrong": "My leave was extended on appeal but the end date is the old one",
            "correct_value": "",
        },
    )
    assert sent.status_code == 200 and "Request sent" in sent.text
    reference = re.search(r"<strong>([0-9a-f-]{36})</strong>", sent.text)
    assert reference

    open_ = client.get("/api/v1/correction-requests", headers=caseworker).json()
    assert [r["id"] for r in open_] == [reference.group(1)]
    assert open_[0]["person_id"] == str(person.id)
    partner = bearer(world.keys["bank"])
    assert client.get("/api/v1/correction-requests", headers=partner).status_code == 403

    closed = client.post(
        f"/api/v1/correction-requests/{reference.group(1)}/close",
        json={"outcome": "corrected", "response": "We have corrected the end date."},
        headers=caseworker,
    )
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    again = client.post(
        f"/api/v1/correction-requests/{reference.group(1)}/close",
        json={"outcome": "no_change", "response": "Second answer"},
        headers=caseworker,
    )
    assert again.status_code == 409
    page = client.get("/my/corrections").text
    assert "We have corrected the end date." in page and "Answered" in page

    actions = [
        e.action
        for e in world.session.query(AuditEntry).filter(AuditEntry.subject_ref == str(person.id))
    ]
    assert "correction.request" in actions and "correction.request.close" in actions
    details = " ".join(
        str(e.details) for e in world.session.query(AuditEntry)
    )  # the person's own words never enter the audit log
    assert "extended on appeal" not in details

"""A governance officer assigns a data-quality finding's owner; the queue shows it and filters."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from shareguard.quality.service import QualityService
from shareguard.storage.base import today
from tests.factories import TestWorld
from tests.web import builders
from tests.web.console_helpers import csrf, error_messages, sign_in


def _post(client: TestClient, fid: str, **data: str) -> object:
    token = csrf(client, f"/governance/quality/{fid}/assign")
    return client.post(f"/governance/quality/{fid}/assign", data={"csrf_token": token, **data})


def test_officer_assigns_a_finding_and_finds_it_under_assigned_to_me(
    client: TestClient, world: TestWorld
) -> None:
    fid = builders.quality_finding(world, given="Leila", family="Haddad")
    sign_in(client, "officer")
    queue = client.get("/governance/quality")
    assert f'href="/governance/quality/{fid}/assign"' in queue.text
    assert ">reviewer<" in queue.text.replace("<br>", "<")  # the owner the queue chose
    assert (
        "No open findings are assigned to you." in client.get("/governance/quality?owner=me").text
    )

    form = client.get(f"/governance/quality/{fid}/assign")
    assert form.status_code == 200 and "Assign this finding" in form.text
    # Only staff of the officer's own organisation who can work findings are offered.
    assert "caseworker2 (caseworker)" in form.text and "officer (governance officer)" in form.text
    assert "auditor" not in form.text.split('id="owner"')[1].split("</select>")[0]
    assert "agency_user" not in form.text

    due = today() + timedelta(days=3)
    done = _post(
        client,
        fid,
        owner=str(world.users["officer"]),
        **{"due-day": str(due.day), "due-month": str(due.month), "due-year": str(due.year)},
    )
    html = done.text  # type: ignore[attr-defined]
    assert done.status_code == 200 and "Finding assigned" in html  # type: ignore[attr-defined]
    assert f"officer owns it now; it is due by {due.day} {due:%B %Y}." in html
    mine = client.get("/governance/quality?owner=me")
    assert "1 open finding assigned to you" in mine.text and "Implausible dates" in mine.text
    assert f"{due.day} {due:%B %Y}" in mine.text and "Reassign" in mine.text

    # Reassigned to a caseworker, keeping the due date: it leaves "assigned to me".
    again = _post(client, fid, owner=str(world.users["caseworker2"]))
    assert "caseworker2 owns it now" in again.text  # type: ignore[attr-defined]
    assert f"{due.day} {due:%B %Y}" in again.text  # type: ignore[attr-defined]
    assert (
        "No open findings are assigned to you." in client.get("/governance/quality?owner=me").text
    )


def test_bad_answers_name_the_field_and_change_nothing(
    client: TestClient, world: TestWorld
) -> None:
    fid = builders.quality_finding(world, given="Leila", family="Haddad")
    before = QualityService(world.session).findings(world.principals["officer"])[0]
    owner, due = before.owner_id, before.due_date
    world.session.rollback()  # end the read so the app may write
    sign_in(client, "officer")
    empty = _post(client, fid, owner="", **{"due-day": "31", "due-month": "2", "due-year": "2027"})
    assert empty.status_code == 422  # type: ignore[attr-defined]
    assert error_messages(empty.text) == [  # type: ignore[attr-defined]
        "Select who should own this finding",
        "Due date must be a real date, for example 27 3 2027",
    ]
    past = today() - timedelta(days=1)
    late = _post(
        client,
        fid,
        owner=str(world.users["caseworker"]),
        **{"due-day": str(past.day), "due-month": str(past.month), "due-year": str(past.year)},
    )
    assert late.status_code == 422  # type: ignore[attr-defined]
    assert error_messages(late.text) == ["Due date must be today or in the future"]  # type: ignore[attr-defined]
    # An auditor (or a partner) is not someone who may own a finding, even by a forged form.
    auditor = _post(client, fid, owner=str(world.users["auditor"]))
    assert auditor.status_code == 422  # type: ignore[attr-defined]
    assert error_messages(auditor.text) == [  # type: ignore[attr-defined]
        "The owner must be an active reviewer, caseworker or governance officer "
        "of your organisation"
    ]
    forged = client.post(
        f"/governance/quality/{fid}/assign",
        data={"csrf_token": "x", "owner": str(world.users["caseworker"])},
    )
    assert forged.status_code == 403
    world.session.expire_all()
    after = QualityService(world.session).finding(before.id, world.principals["officer"])
    assert (after.owner_id, after.due_date) == (owner, due)


def test_auditor_sees_owners_but_cannot_assign(client: TestClient, world: TestWorld) -> None:
    fid = builders.quality_finding(world, given="Leila", family="Haddad")
    sign_in(client, "auditor")
    queue = client.get("/governance/quality")
    assert queue.status_code == 200 and "reviewer" in queue.text
    assert "/assign" not in queue.text
    assert client.get(f"/governance/quality/{fid}/assign").status_code == 403

"""A caseworker proposes a person for a watch list in the console; a second caseworker verifies.

Refusals (the gate, an open entry already there, missing answers) are explained on the page
and nothing is written.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from fastapi.testclient import TestClient

from shareguard.matching.watchlist import WatchlistService
from shareguard.storage.base import today
from tests import factories
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages, sign_in


def _person(world: TestWorld, **decision: object) -> tuple[uuid.UUID, uuid.UUID]:
    """A person with one decision (by default a final refusal out of its appeal window)."""
    p = factories.person(world, "Tomasz", "Wiśniewski", date(1988, 2, 3), commit=False)
    fields: dict[str, object] = {"source": "caseworking", "evidence_ref": "DEC-1", **decision}
    d = factories.decision(world, p.id, **fields)  # type: ignore[arg-type]
    return p.id, d.id


def _answers(
    client: TestClient, pid: uuid.UUID, agreement: uuid.UUID, decision: uuid.UUID, ref: str
) -> object:
    return client.post(
        f"/casework/people/{pid}/watchlist/new",
        data={
            "csrf_token": csrf(client, f"/casework/people/{pid}/watchlist/new"),
            "agreement": str(agreement),
            "decision": str(decision),
            "evidence_ref": ref,
        },
        follow_redirects=False,
    )


def test_caseworker_proposes_and_a_second_caseworker_verifies(
    client: TestClient, world: TestWorld
) -> None:
    bulk = world.agreement(bulk=True, title="Bulk refusals to the agency")
    world.agreement(title="Checks only, no watch list")
    pid, did = _person(world)
    sign_in(client, "caseworker")
    record = client.get(f"/casework/people/{pid}")
    assert f'href="/casework/people/{pid}/watchlist/new"' in record.text
    assert "Propose for a watch list" in record.text

    form = client.get(f"/casework/people/{pid}/watchlist/new")
    assert form.status_code == 200
    assert "Bulk refusals to the agency" in form.text
    assert "Checks only, no watch list" not in form.text  # not a bulk agreement
    assert "Refusal on" in form.text and "Final; appeal: none" in form.text

    answered = _answers(client, pid, bulk, did, "CASE-77")
    assert answered.status_code == 303  # type: ignore[attr-defined]
    check = client.get(answered.headers["location"])  # type: ignore[attr-defined]
    assert check.status_code == 200 and "Check your answers before proposing" in check.text
    assert "Bulk refusals to the agency" in check.text and "CASE-77" in check.text
    assert client.get("/casework/watchlist").text.count("CASE-77") == 0  # nothing written yet

    done = client.post(
        f"/casework/people/{pid}/watchlist/check",
        data={"csrf_token": csrf(client, "/console")},
    )
    assert done.status_code == 200
    assert "Proposed for the watch list" in done.text
    assert "A second caseworker must verify the entry" in done.text
    assert "no appeal is lodged or pending" in done.text

    queue = client.get("/casework/watchlist")
    assert "CASE-77" in queue.text and "another caseworker must verify it" in queue.text
    token = csrf(client, "/console")
    client.post("/sign-out", data={"csrf_token": token})

    sign_in(client, "caseworker2")
    queue = client.get("/casework/watchlist")
    assert "CASE-77" in queue.text
    [eid] = re.findall(r'action="/casework/watchlist/([0-9a-f-]{36})/verify"', queue.text)
    verified = client.post(
        f"/casework/watchlist/{eid}/verify", data={"csrf_token": csrf(client, "/console")}
    )
    assert "Entry verified" in verified.text and "No entries are waiting." in verified.text


def test_gate_refusal_is_explained_and_nothing_is_written(
    client: TestClient, world: TestWorld
) -> None:
    bulk = world.agreement(bulk=True)
    pid, did = _person(
        world, final=False, appeal_state="pending", appeal_window_end=today() + timedelta(days=9)
    )
    sign_in(client, "caseworker")
    refused = _answers(client, pid, bulk, did, "CASE-78")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    html = refused.text  # type: ignore[attr-defined]
    assert error_messages(html) == [
        "The decision is not final: propose the person only once it is final",
        "An appeal is lodged or pending: the person cannot be proposed until it is decided",
        "The appeal window has not closed: propose the person once it has passed",
    ]
    assert 'value="CASE-78"' in html  # the answers are kept for the caseworker to change
    # The check-answers page is not reachable without answers that pass.
    check = client.get(f"/casework/people/{pid}/watchlist/check", follow_redirects=False)
    assert check.status_code == 303
    assert "No entries are waiting." in client.get("/casework/watchlist").text
    assert WatchlistService(world.session).entries(bulk) == []


def test_appeal_lodged_after_the_answers_is_caught_on_confirming(
    client: TestClient, world: TestWorld
) -> None:
    bulk = world.agreement(bulk=True)
    pid, did = _person(world)
    sign_in(client, "caseworker")
    assert _answers(client, pid, bulk, did, "CASE-79").status_code == 303  # type: ignore[attr-defined]
    # Meanwhile an appeal is lodged against another of the person's decisions.
    factories.appealed(
        world, pid, "lodged", "curtailment", source="tribunal", evidence_ref="APPEAL-1"
    )
    late = client.post(
        f"/casework/people/{pid}/watchlist/check", data={"csrf_token": csrf(client, "/console")}
    )
    assert late.status_code == 422
    assert "Check your answers before proposing" in late.text
    assert error_messages(late.text) == [
        "An appeal is lodged or pending: the person cannot be proposed until it is decided"
    ]
    assert WatchlistService(world.session).entries(bulk) == []


def test_an_open_entry_already_there_is_a_conflict(client: TestClient, world: TestWorld) -> None:
    bulk = world.agreement(bulk=True)
    pid, did = _person(world)
    WatchlistService(world.session).propose(
        bulk, pid, did, "CASE-1", world.principals["caseworker2"]
    )
    world.session.commit()  # the test is the boundary: services never commit
    sign_in(client, "caseworker")
    assert _answers(client, pid, bulk, did, "CASE-80").status_code == 303  # type: ignore[attr-defined]
    clash = client.post(
        f"/casework/people/{pid}/watchlist/check", data={"csrf_token": csrf(client, "/console")}
    )
    assert clash.status_code == 409
    assert error_messages(clash.text) == [
        "This person already has an open entry on this watch list"
    ]
    assert len(WatchlistService(world.session).entries(bulk)) == 1


def test_missing_answers_name_the_field(client: TestClient, world: TestWorld) -> None:
    world.agreement(bulk=True)
    pid, _ = _person(world)
    sign_in(client, "caseworker")
    token = csrf(client, f"/casework/people/{pid}/watchlist/new")
    empty = client.post(f"/casework/people/{pid}/watchlist/new", data={"csrf_token": token})
    assert empty.status_code == 422
    assert error_messages(empty.text) == [
        "Select the agreement whose watch list the person should join",
        "Select the decision the entry rests on",
        "Enter the evidence reference, for example the case file",
    ]
    forged = client.post(
        f"/casework/people/{pid}/watchlist/check", data={"csrf_token": "not-the-token"}
    )
    assert forged.status_code == 403


def test_only_caseworkers_propose(client: TestClient, world: TestWorld) -> None:
    pid, _ = _person(world)
    sign_in(client, "officer")
    assert client.get(f"/casework/people/{pid}/watchlist/new").status_code == 403
    token = csrf(client, "/console")
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, "caseworker")
    assert client.get(f"/casework/people/{uuid.uuid4()}/watchlist/new").status_code == 404

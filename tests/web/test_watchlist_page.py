"""Watch-list four-eyes verification in the console: the proposer is refused, a second verifies."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from shareguard.matching.watchlist import WatchlistService
from tests import factories
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages, sign_in


def _proposed(world: TestWorld) -> str:
    s = world.session
    p = factories.person(world, "Amara", "Okonkwo", date(2001, 4, 12), commit=False)
    d = factories.decision(world, p.id, source="caseworking", evidence_ref="E", commit=False)
    entry = WatchlistService(s).propose(
        world.agreement(bulk=True), p.id, d.id, "CASE-9", world.principals["caseworker"]
    )
    s.commit()
    return str(entry.id)


def test_proposer_is_refused_and_a_second_caseworker_verifies(
    client: TestClient, world: TestWorld
) -> None:
    eid = _proposed(world)
    sign_in(client, "caseworker")
    page = client.get("/casework/watchlist")
    assert page.status_code == 200 and 'href="/casework/watchlist"' in page.text
    assert "CASE-9" in page.text and "another caseworker must verify it" in page.text
    token = csrf(client, "/casework/watchlist")
    own = client.post(f"/casework/watchlist/{eid}/verify", data={"csrf_token": token})
    assert own.status_code == 403
    assert error_messages(own.text) == [
        "A second caseworker, not the proposer, must verify (four eyes)"
    ]
    client.post("/sign-out", data={"csrf_token": token})

    sign_in(client, "caseworker2")
    token = csrf(client, "/casework/watchlist")
    assert (
        client.post(f"/casework/watchlist/{eid}/verify", data={"csrf_token": "x"}).status_code
        == 403
    )
    done = client.post(f"/casework/watchlist/{eid}/verify", data={"csrf_token": token})
    assert done.status_code == 200 and "Entry verified" in done.text
    assert "No entries are waiting." in done.text


def test_only_caseworkers_open_the_watch_list(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "officer")
    assert client.get("/casework/watchlist").status_code == 403
    assert 'href="/casework/watchlist"' not in client.get("/console").text

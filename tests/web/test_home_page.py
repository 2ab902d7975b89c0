"""The console's home page: where each link leads, and the work waiting for the user."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from tests import factories
from tests.factories import TestWorld
from tests.web import builders
from tests.web.console_helpers import csrf, sign_in


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_each_link_on_the_home_page_says_what_it_is_for(
    client: TestClient, world: TestWorld
) -> None:
    sign_in(client, "officer")
    page = _text(client.get("/console").text)
    assert "Audit log Every decision and disclosure, with signed checkpoints and proofs." in page
    assert "Firewall and pauses Rules no agreement can override" in page
    assert "Waiting for you" not in page  # an officer looks after none of the queues below


def test_reviewer_home_counts_the_candidates_waiting(
    client: TestClient, world: TestWorld, tmp_path: Path
) -> None:
    sign_in(client, "reviewer")
    assert "Waiting for you" not in client.get("/console").text
    person = factories.person(world, "Homa", "Queuecase", date(1980, 1, 2), commit=False)
    builders.candidate(world.session, world.agreement(bulk=True), person.id, tmp_path)
    page = _text(client.get("/console").text)
    assert "Waiting for you 1 candidate match to review" in page
    assert 'href="/review"' in client.get("/console").text


def test_a_proposed_watch_list_entry_waits_for_the_other_caseworker(
    client: TestClient, world: TestWorld
) -> None:
    from tests.web.test_watchlist_page import _proposed

    _proposed(world)  # proposed by "caseworker"
    sign_in(client, "caseworker")
    assert "watch-list entr" not in client.get("/console").text  # not one's own to verify
    client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    sign_in(client, "caseworker2")
    page = _text(client.get("/console").text)
    assert "Waiting for you 1 watch-list entry to verify" in page

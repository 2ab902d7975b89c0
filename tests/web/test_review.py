"""Reviewer pages server side: the queue and a candidate side by side with its explanation."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.factories import TestWorld
from tests.web import builders
from tests.web.console_helpers import csrf, error_messages, sign_in


@pytest.fixture
def candidate_id(world: TestWorld, tmp_path: Path):  # type: ignore[no-untyped-def]
    agreement = world.agreement(bulk=True)
    person = factories.person(world, "Mohammed", "Reviewcase", date(1979, 5, 6), commit=False)
    return builders.candidate(world.session, agreement, person.id, tmp_path)


def test_reviewer_sees_both_records_and_the_explanation(client: TestClient, candidate_id) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "reviewer")
    queue = client.get("/review").text
    assert "Waiting for review: 1 candidate" in queue and "0.930" in queue
    page = client.get(f"/review/{candidate_id}").text
    assert "Mohammed" in page and "Muhammad" in page and "AB1 2CD" in page
    assert "Transliteration variant" in page
    assert "+9.20" in page and "3.80" in page  # the weights and the running total
    token = csrf(client, f"/review/{candidate_id}")
    missing = client.post(f"/review/{candidate_id}", data={"csrf_token": token})
    assert error_messages(missing.text) == ["Select whether these records are the same person"]
    done = client.post(f"/review/{candidate_id}", data={"csrf_token": token, "outcome": "same"})
    assert "Review recorded" in done.text and "The match is now pending" in done.text
    again = client.get(f"/review/{candidate_id}").text
    assert "A second reviewer must decide" in again


def test_only_reviewers_open_the_queue(client: TestClient, world: TestWorld) -> None:
    for who in ("agency_user", "officer"):
        sign_in(client, who)
        assert client.get("/review").status_code == 403
        client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})
    sign_in(client, "reviewer")
    assert re.search(r">\s*Review queue\s*<", client.get("/console").text)


def test_a_candidate_whose_partner_file_is_not_held_can_still_be_reviewed(
    client: TestClient, world: TestWorld, candidate_id
) -> None:  # type: ignore[no-untyped-def]
    # The demo's replayed history has datasets with no file (path ""), as retention leaves them.
    from shareguard.matching.models import Candidate, MatchRun, PartnerDataset

    cand = world.session.get(Candidate, candidate_id)
    run = world.session.get(MatchRun, cand.run_id)
    world.session.get(PartnerDataset, run.dataset_id).path = ""
    world.session.commit()
    sign_in(client, "reviewer")
    page = client.get(f"/review/{candidate_id}")
    assert page.status_code == 200 and "no longer held" in page.text and "Mohammed" in page.text
    api = client.get(f"/api/v1/matching/candidates/{candidate_id}")
    assert api.status_code == 200 and api.json()["partner"]["held"] is False

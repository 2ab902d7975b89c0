"""Reviewer pages server side: the queue and a candidate side by side with its explanation."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from shareguard.matching.models import Candidate, MatchRun, PartnerDataset
from shareguard.status.schemas import NameIn, PersonIn
from shareguard.status.service import StatusService
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages, sign_in


@pytest.fixture
def candidate_id(world: TestWorld, tmp_path: Path):  # type: ignore[no-untyped-def]
    s = world.session
    agreement = world.agreement(bulk=True)
    person = StatusService(s).create_person(
        PersonIn(
            names=[NameIn(given="Mohammed", family="Reviewcase")], date_of_birth=date(1979, 5, 6)
        ),
        world.principals["caseworker"],
    )
    path = tmp_path / "partner.parquet"
    pq.write_table(
        pa.table(
            {
                "record_id": ["P-17"],
                "first_name": ["Muhammad"],
                "surname": ["Reviewcase"],
                "date_of_birth": ["1979-05-06"],
                "postcode": ["AB1 2CD"],
            }
        ),
        path,
    )
    dataset = PartnerDataset(
        agreement_id=agreement,
        name="test",
        source_format="csv",
        path=str(path),
        rows=1,
        sha256="0" * 64,
    )
    s.add(dataset)
    s.flush()
    run = MatchRun(
        agreement_id=agreement, dataset_id=dataset.id, state="succeeded", two_person_rule=True
    )
    s.add(run)
    s.flush()
    cand = Candidate(
        run_id=run.id,
        person_id=person.id,
        partner_record_id="P-17",
        match_probability=0.93,
        match_weight=3.8,
        band="review",
        explanation=[
            {
                "comparison": "prior",
                "level": "probability two random records match",
                "match_weight": -9.5,
            },
            {"comparison": "first_name", "level": "transliteration variant", "match_weight": 4.1},
            {"comparison": "date_of_birth", "level": "exact", "match_weight": 9.2},
        ],
    )
    s.add(cand)
    s.commit()
    cid = cand.id
    s.rollback()
    return cid


def test_reviewer_sees_both_records_and_the_explanation(client: TestClient, candidate_id) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "reviewer")
    queue = client.get("/review").text
    assert "Waiting for review: 1 candidate" in queue and "0.930" in queue
    page = client.get(f"/review/{candidate_id}").text
    assert "Mohammed" in page and "Muhammad" in page and "AB1 2CD" in page
    assert "Transliteration variant" in page or "transliteration variant" in page
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

"""Partner match pages server side: runs, disclosed results, reporting an adverse action."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shareguard.agreements.schemas import PartyIn
from shareguard.audit.models import AuditEntry
from shareguard.matching import ReviewService
from shareguard.matching.models import AdverseAction, Candidate, MatchRun
from tests import factories
from tests.factories import TestWorld
from tests.web import builders
from tests.web.console_helpers import csrf, error_messages, sign_in


@dataclass
class DisclosedRun:
    run_id: uuid.UUID
    candidates: list[uuid.UUID]


def disclosed_run(
    world: TestWorld,
    folder: Path,
    *,
    recipient: str = "Test Agency",
    matches: int = 1,
    two_person_rule: bool = False,
) -> DisclosedRun:
    """A succeeded run under a bulk agreement whose ``matches`` results were disclosed.

    Built as the matching service leaves a run: candidates with a disclosure id and
    ``partner_results.json`` (minimised answers) in the run's folder.
    """
    agreement = world.agreement(
        bulk=True,
        parties=[
            PartyIn(organisation="Test Department", role="discloser"),
            PartyIn(organisation=recipient, role="recipient"),
        ],
    )
    person = factories.person(world, "Amara", "Matchcase", date(1975, 3, 9), commit=False)
    first = builders.candidate(world.session, agreement, person.id, folder)
    session = world.session
    cand = session.get(Candidate, first)
    assert cand is not None
    run = session.get(MatchRun, cand.run_id)
    assert run is not None
    run.two_person_rule = two_person_rule
    run.out_dir = str(folder / f"run-{run.id}")
    run.counts = {"partner_rows": 2000, "matches": matches, "disclosed": matches}
    ids = [cand.id]
    cand.disclosure_id = uuid.uuid4()
    for n in range(1, matches):
        extra = Candidate(
            run_id=run.id,
            person_id=person.id,
            partner_record_id=f"P-{100 + n}",
            match_probability=0.97,
            match_weight=9.0,
            band="match",
            explanation=builders.EXPLANATION,
            disclosure_id=uuid.uuid4(),
        )
        session.add(extra)
        session.flush()
        ids.append(extra.id)
    records = {c: session.get(Candidate, c).partner_record_id for c in ids}  # type: ignore[union-attr]
    Path(run.out_dir).mkdir(parents=True)
    (Path(run.out_dir) / "partner_results.json").write_text(
        json.dumps(
            [
                {
                    "candidate_id": str(c),
                    "partner_record_id": records[c],
                    "match_probability": 0.97,
                    "person": {
                        "name": "Amara Matchcase",
                        "date_of_birth": "1975-03-09",
                        "lawfully_resident": False,
                    },
                }
                for c in ids
            ]
        )
    )
    run_id = run.id
    session.commit()
    return DisclosedRun(run_id, ids)


def _audit_count(world: TestWorld, decision: str) -> int:
    world.session.rollback()
    found = world.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "matching.adverse_action", AuditEntry.decision == decision)
    )
    world.session.rollback()  # SQLite transactions take the write lock: never hold one open
    return int(found or 0)


def _actions(world: TestWorld) -> int:
    world.session.rollback()
    found = world.session.scalar(select(func.count()).select_from(AdverseAction))
    world.session.rollback()
    return int(found or 0)


def test_partner_sees_only_its_own_runs(
    client: TestClient, world: TestWorld, tmp_path: Path
) -> None:
    mine = disclosed_run(world, tmp_path)
    theirs = disclosed_run(world, tmp_path, recipient="Test Bank")
    sign_in(client, "agency_user")
    home = client.get("/console").text
    assert re.search(r">\s*Match results\s*<", home)
    page = client.get("/matches")
    assert page.status_code == 200
    table = page.text.split('id="match-runs"')[1].split("</table>")[0]
    assert "1 match run," in table and "Finished" in table and "2,000" in table
    assert f'href="/matches/{mine.run_id}"' in table
    assert str(theirs.run_id) not in page.text
    # Another organisation's run, and reporting on it, are not found (no hint it exists).
    other = client.get(f"/matches/{theirs.run_id}")
    assert other.status_code == 404 and "Page not found" in other.text
    action = f"/matches/{theirs.run_id}/results/{theirs.candidates[0]}/action"
    assert client.get(action).status_code == 404
    # A result from another run cannot be reached through the partner's own run either.
    assert (
        client.get(f"/matches/{mine.run_id}/results/{theirs.candidates[0]}/action").status_code
        == 404
    )


def test_empty_state_says_what_a_match_run_is(client: TestClient, world: TestWorld) -> None:
    world.agreement(bulk=True)
    world.session.rollback()
    sign_in(client, "agency_user")
    page = client.get("/matches").text
    empty = page.split('id="no-runs"')[1]
    assert "There are no match runs for your organisation yet" in empty
    assert "POST /api/v1/matching/datasets" in empty and "shareguard match run" in empty
    assert "compares the Home Office" in page


def test_match_pages_are_for_partner_users(
    client: TestClient, world: TestWorld, tmp_path: Path
) -> None:
    run = disclosed_run(world, tmp_path)
    sign_in(client, "reviewer")
    assert client.get("/matches").status_code == 403
    assert client.get(f"/matches/{run.run_id}").status_code == 403


def test_results_table_shows_disclosed_fields_and_review_state_in_plain_english(
    client: TestClient, world: TestWorld, tmp_path: Path
) -> None:
    run = disclosed_run(world, tmp_path, matches=3)
    reviewer = world.principals["reviewer"]
    service = ReviewService(world.session)
    service.review(run.candidates[0], "same", reviewer)
    service.review(run.candidates[1], "not_same", reviewer)
    world.session.commit()  # the test is the boundary: services never commit
    sign_in(client, "agency_user")
    page = client.get(f"/matches/{run.run_id}")
    assert page.status_code == 200
    table = page.text.split('id="match-results"')[1].split("</table>")[0]
    assert "3 matches" in table
    assert "Full name" in table and "Amara Matchcase" in table and "9 March 1975" in table
    assert "Lawfully resident" in table and ">No<" in table
    rows = {
        re.search(r'scope="row"[^>]*>([^<]+)<', r).group(1): r  # type: ignore[union-attr]
        for r in table.split("<tbody")[1].split("</tr>")
        if 'scope="row"' in r
    }
    assert "Confirmed by review" in rows["P-17"]
    assert "Not the same person" in rows["P-101"]
    assert "Awaiting review" in rows["P-102"]
    # Only what was disclosed: no scores, no watch-list details beyond the agreement's items.
    assert "0.97" not in table and "Postcode" not in table
    assert table.count("Report an action") == 3


def test_results_over_fifty_rows_are_paginated(
    client: TestClient, world: TestWorld, tmp_path: Path
) -> None:
    run = disclosed_run(world, tmp_path, matches=53)
    sign_in(client, "agency_user")
    first = client.get(f"/matches/{run.run_id}").text
    assert "Matches 1 to 50 of 53" in first and first.count("Report an action<") == 50
    assert "govuk-pagination" in first and f'href="/matches/{run.run_id}?page=2"' in first
    second = client.get(f"/matches/{run.run_id}?page=2").text
    assert "Matches 51 to 53 of 53" in second and second.count("Report an action<") == 3
    assert 'aria-current="page"' in second


def test_partner_reports_an_action_on_a_confirmed_match(
    client: TestClient, world: TestWorld, tmp_path: Path
) -> None:
    run = disclosed_run(world, tmp_path)
    ReviewService(world.session).review(run.candidates[0], "same", world.principals["reviewer"])
    world.session.commit()  # the test is the boundary: services never commit
    sign_in(client, "agency_user")
    url = f"/matches/{run.run_id}/results/{run.candidates[0]}/action"
    form = client.get(url).text
    assert "Confirmed by review" in form and "a reviewer has confirmed" in form
    for label in ("Licence revoked", "Account closed", "Benefit stopped", "Another adverse action"):
        assert label in form
    done = client.post(
        url,
        data={
            "csrf_token": csrf(client, url),
            "kind": "licence_revoked",
            "contest_route": "Write to the agency within 28 days",
        },
    )
    assert done.status_code == 200 and "Action reported" in done.text
    reference = re.search(r'id="action-reference">([0-9a-f-]{36})<', done.text)
    assert reference and "Write to the agency within 28 days" in done.text
    world.session.rollback()
    saved = world.session.scalars(select(AdverseAction)).one()
    assert str(saved.id) == reference.group(1) and saved.kind == "licence_revoked"
    world.session.rollback()
    assert _audit_count(world, "permit") == 1
    results = client.get(f"/matches/{run.run_id}").text
    assert "Reported: Licence revoked" in results and "Report an action<" not in results


def test_action_without_a_confirmed_review_is_refused_and_audited(
    client: TestClient, world: TestWorld, tmp_path: Path
) -> None:
    run = disclosed_run(world, tmp_path, two_person_rule=True)
    # One reviewer's "same" is not enough under the two-person rule.
    ReviewService(world.session).review(run.candidates[0], "same", world.principals["reviewer"])
    world.session.commit()  # the test is the boundary: services never commit
    sign_in(client, "agency_user")
    url = f"/matches/{run.run_id}/results/{run.candidates[0]}/action"
    assert "Awaiting review" in client.get(url).text
    refused = client.post(
        url,
        data={
            "csrf_token": csrf(client, url),
            "kind": "licence_revoked",
            "contest_route": "Write to the agency within 28 days",
        },
    )
    assert refused.status_code == 403
    assert "You cannot report an action on this match" in refused.text
    assert "two reviewers" in refused.text and "Your report was not recorded" in refused.text
    assert _actions(world) == 0
    assert _audit_count(world, "deny") == 1


def test_bad_input_shows_errors_and_writes_nothing(
    client: TestClient, world: TestWorld, tmp_path: Path
) -> None:
    run = disclosed_run(world, tmp_path)
    ReviewService(world.session).review(run.candidates[0], "same", world.principals["reviewer"])
    world.session.commit()  # the test is the boundary: services never commit
    before = _audit_count(world, "permit") + _audit_count(world, "deny")
    sign_in(client, "agency_user")
    url = f"/matches/{run.run_id}/results/{run.candidates[0]}/action"
    token = csrf(client, url)
    empty = client.post(url, data={"csrf_token": token, "contest_route": "   "})
    assert empty.status_code == 422
    assert error_messages(empty.text) == [
        "Select the action you took",
        "Enter how the person can contest the action",
    ]
    assert empty.text.startswith("<!DOCTYPE html>") and "<title>Error: " in empty.text
    forged = client.post(
        url, data={"csrf_token": token, "kind": "deported", "contest_route": "Write to us"}
    )
    assert forged.status_code == 422 and "Write to us" in forged.text  # kept for correcting
    assert error_messages(forged.text) == ["Select the action you took"]
    no_token = client.post(url, data={"kind": "licence_revoked", "contest_route": "Write to us"})
    assert no_token.status_code == 403
    assert _actions(world) == 0
    assert _audit_count(world, "permit") + _audit_count(world, "deny") == before


def test_a_run_without_disclosed_results_says_which_case_it_is(
    client: TestClient, world: TestWorld, tmp_path: Path
) -> None:
    run = disclosed_run(world, tmp_path)
    stored = world.session.get(MatchRun, run.run_id)
    assert stored is not None
    (Path(stored.out_dir) / "partner_results.json").unlink()
    stored.counts = {"partner_rows": 10, "matches": 0, "disclosed": 0}
    world.session.commit()
    sign_in(client, "agency_user")
    assert "This run disclosed no matches to you" in client.get(f"/matches/{run.run_id}").text
    stored.counts = {"replayed": True}  # history recorded without its results file
    world.session.commit()
    page = client.get(f"/matches/{run.run_id}").text
    assert "were not kept with it, so they cannot be shown here" in page

"""Browser journey: the driving-licence agency opens its match results and reports an action."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PERSON, a11y, demo_email, sign_in

pytestmark = pytest.mark.browser

AGREEMENT = "HO-DVLA-001"
RECORDS = {"confirmed": "P-17", "nojs": "P-18", "unconfirmed": "P-19"}


@dataclass(frozen=True)
class AgencyRun:
    run_id: str
    candidates: dict[str, str]  # RECORDS key -> candidate id


@pytest.fixture(scope="session")
def agency_run(e2e_db, person, tmp_path_factory: pytest.TempPathFactory) -> AgencyRun:  # type: ignore[no-untyped-def]
    """A finished run under HO-DVLA-001 that disclosed three matches to the agency.

    Laid out as the matching service leaves a run (candidates with disclosure ids and the
    minimised ``partner_results.json``), without running Splink. Two matches are confirmed by
    the demo reviewer (one-reviewer run), one waits for review.
    """
    from shareguard.matching import ReviewService
    from shareguard.matching.models import Candidate, MatchRun
    from shareguard.storage.db import session_factory
    from tests.web import builders

    _, engine, world = e2e_db
    folder = tmp_path_factory.mktemp("agency-run")
    dob = f"{PERSON['year']}-{int(PERSON['month']):02d}-{int(PERSON['day']):02d}"
    with session_factory(engine)() as session:
        first = builders.candidate(
            session,
            world.agreements[AGREEMENT],
            uuid.UUID(person),
            folder,
            first_name=PERSON["given"],
            surname=PERSON["family"],
            dob=dob,
        )
        cand = session.get(Candidate, first)
        assert cand is not None
        run = session.get(MatchRun, cand.run_id)
        assert run is not None
        run.two_person_rule = False
        run.out_dir = str(folder / "run")
        run.counts = {"partner_rows": 3, "matches": 3, "disclosed": 3}
        cand.disclosure_id = uuid.uuid4()
        ids = {"confirmed": first}
        for key in ("nojs", "unconfirmed"):
            extra = Candidate(
                run_id=run.id,
                person_id=uuid.UUID(person),
                partner_record_id=RECORDS[key],
                match_probability=0.96,
                match_weight=8.5,
                band="match",
                explanation=builders.EXPLANATION,
                disclosure_id=uuid.uuid4(),
            )
            session.add(extra)
            session.flush()
            ids[key] = extra.id
        Path(run.out_dir).mkdir(parents=True)
        (Path(run.out_dir) / "partner_results.json").write_text(
            json.dumps(
                [
                    {
                        "candidate_id": str(ids[key]),
                        "partner_record_id": record,
                        "match_probability": 0.96,
                        "person": {
                            "name": f"{PERSON['given']} {PERSON['family']}",
                            "date_of_birth": dob,
                            "lawfully_resident": False,
                            "valid_until": None,
                        },
                    }
                    for key, record in RECORDS.items()
                ]
            )
        )
        run_id = str(run.id)
        session.commit()
        matching = ReviewService(session)
        for key in ("confirmed", "nojs"):
            matching.review(ids[key], "same", world.principal("reviewer"))
        session.commit()  # the fixture is the boundary: services never commit
    return AgencyRun(run_id, {k: str(v) for k, v in ids.items()})


def test_agency_reports_an_action_on_a_confirmed_match_and_is_refused_on_another(
    page: Any, server: Any, agency_run: AgencyRun
) -> None:
    sign_in(page, server.url, demo_email("partner", "dvla"))
    page.get_by_role("link", name="Match results").first.click()
    page.wait_for_url(re.compile(r"/matches$"))
    assert page.locator("h1").inner_text() == "Match results"
    newest = page.locator("#match-runs tbody tr").first.inner_text()
    assert AGREEMENT in newest and "Finished" in newest
    a11y(page, "50-partner-match-runs")

    page.locator(f'a[href="/matches/{agency_run.run_id}"]').click()
    table = page.locator("#match-results")
    assert "3 matches" in table.inner_text()
    confirmed = table.locator("tr", has_text=RECORDS["confirmed"]).inner_text()
    assert "Confirmed by review" in confirmed and PERSON["family"] in confirmed
    assert "Awaiting review" in table.locator("tr", has_text=RECORDS["unconfirmed"]).inner_text()
    a11y(page, "51-partner-match-results")

    page.get_by_role("link", name=f"Report an action on record {RECORDS['confirmed']}").click()
    assert "You can only report an action on a match a reviewer has confirmed" in page.inner_text(
        ".govuk-warning-text"
    )
    a11y(page, "52-partner-adverse-action")
    page.get_by_label("Licence revoked").check()
    page.get_by_label("How can the person contest this action?").fill(
        "Write to the agency within 28 days, or ask the Home Office to check the match"
    )
    page.get_by_role("button", name="Report the action").click()
    assert page.locator(".govuk-panel__title").inner_text() == "Action reported"
    assert re.fullmatch(r"[0-9a-f-]{36}", page.locator("#action-reference").inner_text())
    a11y(page, "53-partner-adverse-action-done")

    page.get_by_role("link", name="Back to the results").click()
    row = page.locator("#match-results tr", has_text=RECORDS["confirmed"]).inner_text()
    assert "Reported: Licence revoked" in row

    # A match no reviewer has confirmed: the report is refused and says why.
    page.get_by_role("link", name=f"Report an action on record {RECORDS['unconfirmed']}").click()
    assert page.locator("#review-state").inner_text() == "Awaiting review"
    page.get_by_label("Account closed").check()
    page.get_by_label("How can the person contest this action?").fill("Write to us")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Report the action").click()
    assert nav.value is not None and nav.value.status == 403
    assert page.locator("h1").inner_text() == "You cannot report an action on this match"
    assert "a reviewer's confirmation" in page.inner_text("#refusal-reason")
    a11y(page, "53b-partner-adverse-action-refused")


def test_the_action_form_works_without_javascript(
    nojs_page: Any, server: Any, agency_run: AgencyRun
) -> None:
    page = nojs_page
    sign_in(page, server.url, demo_email("partner", "dvla"))
    page.goto(f"{server.url}/matches/{agency_run.run_id}")
    page.get_by_role("link", name=f"Report an action on record {RECORDS['nojs']}").click()
    page.get_by_role("button", name="Report the action").click()
    summary = page.inner_text(".govuk-error-summary")
    assert "Select the action you took" in summary
    assert "Enter how the person can contest the action" in summary
    page.get_by_label("Benefit stopped").check()
    page.get_by_label("How can the person contest this action?").fill("Call the benefit office")
    page.get_by_role("button", name="Report the action").click()
    assert page.locator(".govuk-panel__title").inner_text() == "Action reported"
    assert "Benefit stopped" in page.inner_text("main")

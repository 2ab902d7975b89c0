"""Browser journeys: a caseworker proposes a person for a watch list and a second verifies;
an officer assigns a data-quality finding; a gate refusal with JavaScript off."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import SHOTS, a11y, demo_email, sign_in

pytestmark = pytest.mark.browser


def _person(e2e_db: Any, family: str, **decision: Any) -> str:
    """A young person (the demo's over-30 pause does not apply) with one refusal."""
    from shareguard.storage.db import session_factory
    from tests import factories

    _, engine, world = e2e_db
    caseworker = world.principal("caseworker")
    with session_factory(engine)() as session:
        p = factories.person(
            session, "Nadia", family, date(2001, 6, 9), by=caseworker, commit=False
        )
        # A final refusal made 200 days ago, its appeal window closed 100 days ago (the default).
        fields: dict[str, Any] = {"source": "caseworking", "evidence_ref": "DEC-E2E", **decision}
        factories.decision(session, p.id, by=caseworker, **fields)
        return str(p.id)


@pytest.fixture(scope="module")
def finding(e2e_db: Any) -> str:
    """An open data-quality finding about a record, not a person (so no watch list is held)."""
    from shareguard.quality.models import QualityFinding, QualityRun
    from shareguard.storage.base import today
    from shareguard.storage.db import session_factory

    _, engine, world = e2e_db
    with session_factory(engine)() as session:
        run = QualityRun(rules=["missing_fields"], actor_id=world.users["reviewer"])
        session.add(run)
        session.flush()
        row = QualityFinding(
            run_id=run.id,
            rule="missing_fields",
            record_kind="decision",
            record_id=str(uuid.uuid4()),
            message="The decision has no evidence reference",
            severity="high",
            owner_id=world.users["reviewer"],
            due_date=today() + timedelta(days=5),
        )
        session.add(row)
        session.commit()
        return str(row.id)


def test_caseworker_proposes_and_a_second_caseworker_verifies(
    browser: Any, server: Any, e2e_db: Any
) -> None:
    pid = _person(e2e_db, "Proposetest")
    first = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    second = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    first.set_default_timeout(10_000)
    second.set_default_timeout(10_000)
    try:
        page = first.new_page()
        sign_in(page, server.url, demo_email("caseworker"))
        page.goto(f"{server.url}/casework/people/{pid}")
        page.get_by_role("button", name="Propose for a watch list").click()
        page.wait_for_url(re.compile(r"/watchlist/new$"))
        assert "HO-DVLA-002" not in page.inner_text("main")  # checks only: no watch list
        a11y(page, "70-caseworker-watchlist-propose")
        page.get_by_label(re.compile("HO-DVLA-001")).check()
        page.get_by_label(re.compile("Refusal on")).check()
        page.get_by_label("Evidence reference").fill("E2E-CASE-70")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(re.compile(r"/watchlist/check$"))
        main = page.inner_text("main")
        assert "Check your answers before proposing" in main
        assert "HO-DVLA-001" in main and "E2E-CASE-70" in main
        a11y(page, "71-caseworker-watchlist-check")
        page.get_by_role("button", name="Propose for the watch list").click()
        page.wait_for_url(re.compile(r"/proposed$"))
        main = page.inner_text("main")
        assert "Proposed for the watch list" in main and "<strong>" not in main
        assert "A second caseworker must verify the entry" in main
        a11y(page, "72-caseworker-watchlist-proposed")
        page.get_by_role("link", name="Watch-list entries to verify").click()
        row = page.locator("tr", has_text="E2E-CASE-70")
        assert "another caseworker must verify it" in row.inner_text()

        other = second.new_page()
        sign_in(other, server.url, demo_email("caseworker2"))
        other.goto(server.url + "/casework/watchlist")
        other.locator("tr", has_text="E2E-CASE-70").get_by_role("button").click()
        assert "Entry verified" in other.inner_text("main")
        assert other.locator("tr", has_text="E2E-CASE-70").count() == 0
    finally:
        first.close()
        second.close()


def test_officer_assigns_a_finding(page: Any, server: Any, finding: str) -> None:
    sign_in(page, server.url, demo_email("officer"))
    page.goto(server.url + "/governance/quality")
    page.locator(f'a[href="/governance/quality/{finding}/assign"]').click()
    page.wait_for_url(re.compile(r"/assign$"))
    a11y(page, "73-officer-assign-finding")
    page.get_by_label("Who should own it?").select_option(label="Caseworker (demo) (caseworker)")
    page.get_by_role("button", name="Assign finding").click()
    page.wait_for_url(re.compile(r"/governance/quality$"))
    assert "Finding assigned" in page.inner_text("main")
    row = page.locator(f"#finding-{finding}").inner_text()
    assert "Caseworker (demo)" in row and "Reassign" in row
    # Now to the officer: it appears under "Assigned to me".
    page.locator(f'a[href="/governance/quality/{finding}/assign"]').click()
    page.get_by_label("Who should own it?").select_option(
        label="Governance officer (demo) (governance officer)"
    )
    page.get_by_role("button", name="Assign finding").click()
    page.get_by_role("link", name="Assigned to me").click()
    assert page.locator(f"#finding-{finding}").count() == 1
    assert "assigned to you" in page.inner_text("main")
    a11y(page, "75-officer-quality-assigned-to-me")


def test_gate_refusal_without_javascript(nojs_page: Any, server: Any, e2e_db: Any) -> None:
    from shareguard.storage.base import today

    pid = _person(
        e2e_db,
        "Appealtest",
        final=False,
        appeal_state="pending",
        appeal_window_end=today() + timedelta(days=20),
    )
    page = nojs_page
    sign_in(page, server.url, demo_email("caseworker"))
    page.goto(f"{server.url}/casework/people/{pid}/watchlist/new")
    page.get_by_label(re.compile("HO-HMRC-001")).check()
    page.get_by_label(re.compile("Refusal on")).check()
    page.get_by_label("Evidence reference").fill("E2E-CASE-74")
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "An appeal is lodged or pending" in summary
    assert "The decision is not final" in summary
    assert page.title().startswith("Error:")
    # axe needs JavaScript, so this state is only photographed.
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "74-caseworker-watchlist-refused-nojs.png"), full_page=True)
    page.goto(server.url + "/casework/watchlist")
    assert "E2E-CASE-74" not in page.inner_text("main")

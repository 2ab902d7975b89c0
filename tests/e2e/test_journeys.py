"""Browser journeys for each role: the person, a partner, a caseworker, a reviewer, an officer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import PERSON, SHOTS, a11y, demo_email, person_sign_in, sign_in, tab_to

pytestmark = pytest.mark.browser


def test_person_shares_a_code_a_partner_checks_it_by_keyboard_and_the_person_sees_it(
    browser: Any, server: Any, person: str
) -> None:
    person_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    partner_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    person_ctx.set_default_timeout(10_000)
    partner_ctx.set_default_timeout(10_000)
    try:
        me = person_ctx.new_page()
        me.goto(server.url + "/my/")
        a11y(me, "10-person-start")
        person_sign_in(me, server.url)
        assert "Limited leave to remain" in me.inner_text("main")
        a11y(me, "11-person-account")
        me.get_by_role("link", name="Share codes").first.click()
        me.get_by_role("button", name="Create a share code").click()
        me.get_by_label("Right to work").check()
        a11y(me, "12-person-share-code-purpose")
        me.get_by_role("button", name="Create share code").click()
        code = me.locator("#share-code").inner_text()
        assert re.fullmatch(r"[A-Z0-9]{3} [A-Z0-9]{3} [A-Z0-9]{3}", code)
        a11y(me, "13-person-share-code-created")

        # The employer runs the check using only the keyboard.
        partner = partner_ctx.new_page()
        partner.goto(server.url + "/sign-in")
        tab_to(partner, "email")
        partner.keyboard.type(demo_email("partner", "brightwork"))
        partner.keyboard.press("Tab")
        partner.keyboard.type("shareguard-demo")
        partner.keyboard.press("Enter")
        partner.wait_for_url(re.compile(r"/console$"))
        tab_to(partner, "")  # leave focus somewhere neutral, then follow the menu link
        partner.get_by_role("link", name="Run a check").first.focus()
        partner.keyboard.press("Enter")
        partner.wait_for_url(re.compile(r"/checks/new$"))
        a11y(partner, "14-partner-run-a-check")
        tab_to(partner, "purpose")
        partner.keyboard.press("ArrowDown")  # the first purpose the employer's agreement allows
        tab_to(partner, "code")
        partner.keyboard.type(code)
        tab_to(partner, "dob-day")
        partner.keyboard.type(PERSON["day"])
        partner.keyboard.press("Tab")
        partner.keyboard.type(PERSON["month"])
        partner.keyboard.press("Tab")
        partner.keyboard.type(PERSON["year"])
        with partner.expect_navigation():
            partner.keyboard.press("Enter")
        result = partner.inner_text("main")
        assert "Confirmed" in result and "Right to work" in result
        assert "Yes, with conditions" in result and "No more than 20 hours a week" in result
        reference = partner.locator("#check-reference").inner_text()
        assert re.fullmatch(r"[0-9a-f-]{36}", reference)
        a11y(partner, "15-partner-check-result")
        partner.emulate_media(media="print")
        partner.screenshot(path=str(SHOTS / "16-partner-check-result-print.png"), full_page=True)
        assert not partner.locator(".govuk-header").is_visible()  # printable: no site chrome

        # The person sees who checked, then cancels the code; the same check now finds nothing.
        me.get_by_role("link", name="Who checked your data").first.click()
        row = me.locator("tbody tr").first.inner_text()
        assert "Brightwork Staffing Ltd" in row and "Right to work" in row
        assert "Checked your status" in row and "Answer shared" in row and "HO-EMP-001" in row
        a11y(me, "17-person-who-checked")
        me.get_by_role("link", name="Share codes").first.click()
        me.get_by_role("button", name=re.compile("Cancel the Right to work code")).first.click()
        assert "cancelled" in me.inner_text(".govuk-notification-banner")
        a11y(me, "18-person-share-codes")
    finally:
        person_ctx.close()
        partner_ctx.close()


def test_referral_contested_by_the_person_and_closed_by_a_caseworker(
    browser: Any, server: Any, person: str
) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    try:
        bank = ctx.new_page()
        sign_in(bank, server.url, demo_email("partner", "northbank"))
        bank.goto(server.url + "/checks/new")
        bank.get_by_label("Purpose of the check").select_option("bank_account")
        bank.get_by_label("Name, date of birth and document").check()
        bank.get_by_label("Family name").fill("Nobodyknown")
        bank.get_by_label("Day").fill("3")
        bank.get_by_label("Month").fill("3")
        bank.get_by_label("Year").fill("1960")
        bank.get_by_role("button", name="Run check").click()
        assert "Referred to the Home Office" in bank.inner_text("main")
        reference = bank.locator("#check-reference").inner_text()
        a11y(bank, "19-partner-referred")
        bank.get_by_role("button", name="Sign out").click()

        person_sign_in(bank, server.url)
        bank.get_by_role("link", name="Contest a result").first.click()
        bank.get_by_label("Check reference").fill(reference)
        bank.get_by_label("Why do you think the result is wrong?").fill(
            "I have limited leave to remain and can show my residence permit."
        )
        a11y(bank, "20-person-contest")
        bank.get_by_role("button", name="Send").click()
        assert "Contest received" in bank.inner_text("main")
        a11y(bank, "21-person-contest-received")
        bank.get_by_role("button", name="Sign out").click()

        sign_in(bank, server.url, demo_email("caseworker"))
        bank.get_by_role("link", name="Contests").first.click()
        a11y(bank, "22-caseworker-contests")
        bank.locator("tbody tr", has_text="Contested").first.get_by_role("link").click()
        assert "I have limited leave to remain" in bank.inner_text("main")
        a11y(bank, "23-caseworker-case")
        bank.get_by_role("radio", name=re.compile("Confirmed: the person has")).check()
        bank.get_by_label("Explain the outcome").fill(
            "Identity and status confirmed from the permit."
        )
        bank.get_by_role("button", name="Close case").click()
        assert "Case closed" in bank.inner_text(".govuk-notification-banner")
    finally:
        ctx.close()


def test_caseworker_reads_the_person_record_and_records_a_status(
    page: Any, server: Any, person: str
) -> None:
    sign_in(page, server.url, demo_email("caseworker"))
    page.get_by_role("link", name="People").first.click()
    page.get_by_label("Family name").fill(PERSON["family"])
    page.get_by_label("Day").fill(PERSON["day"])
    page.get_by_label("Month").fill(PERSON["month"])
    page.get_by_label("Year").fill(PERSON["year"])
    page.get_by_role("button", name="Search").click()
    a11y(page, "24-caseworker-people")
    page.get_by_role("link", name=f"{PERSON['given']} {PERSON['family']}").click()
    assert "Status history" in page.inner_text("main")
    a11y(page, "25-caseworker-person-record")
    page.get_by_role("button", name="Record a status").click()
    page.get_by_label("Settled status (indefinite leave to remain)").check()
    page.locator("#from-day").fill("1")
    page.locator("#from-month").fill("1")
    page.locator("#from-year").fill("2024")
    page.get_by_label("Evidence reference").fill("EUSS-BROWSER")
    a11y(page, "26-caseworker-record-status")
    page.get_by_role("button", name="Record status").click()
    timeline = page.locator(".moj-timeline").inner_text()
    assert "Settled status" in timeline and "EUSS-BROWSER" in timeline


def test_officer_browses_the_audit_log_and_downloads_a_checkpoint(page: Any, server: Any) -> None:
    sign_in(page, server.url, demo_email("officer"))
    page.get_by_role("link", name="Audit log").first.click()
    a11y(page, "27-officer-audit-log")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download the latest checkpoint")).click()
    with open(download.value.path(), encoding="utf-8") as f:
        note = f.read().splitlines()
    assert note[0] == "shareguard.example/audit" and int(note[1]) > 0  # origin, tree size
    page.goto(server.url + "/governance/firewall")
    assert "No proactive sharing about people aged over 30" in page.inner_text("main")
    a11y(page, "28-officer-firewall")


def test_two_reviewers_confirm_a_match_side_by_side(
    browser: Any, server: Any, review_candidate: str
) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    try:
        page = ctx.new_page()
        sign_in(page, server.url, demo_email("reviewer"))
        page.get_by_role("link", name="Review queue").first.click()
        a11y(page, "29-reviewer-queue")
        page.locator(f'a[href="/review/{review_candidate}"]').click()
        main = page.inner_text("main")
        assert "Adah" in main and PERSON["given"] in main and "Transliteration variant" in main
        a11y(page, "30-reviewer-side-by-side")
        page.get_by_role("radio", name="The same person", exact=True).check()
        page.get_by_role("button", name="Record decision").click()
        assert "The match is now pending" in page.inner_text(".govuk-notification-banner")
        page.goto(f"{server.url}/review/{review_candidate}")
        assert "A second reviewer must decide" in page.inner_text("main")
    finally:
        ctx.close()


def test_remaining_pages_pass_axe(browser: Any, server: Any, person: str) -> None:
    """Pages no journey above visits still meet WCAG 2.2 AA."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    try:
        page = ctx.new_page()
        for path, name in [
            ("/help", "31-help"),
            ("/accessibility", "32-accessibility"),
            ("/no-such-page", "33-not-found"),
        ]:
            page.goto(server.url + path)
            a11y(page, name)
        person_sign_in(page, server.url)
        for path, name in [
            ("/my/status", "34-person-status"),
            ("/my/corrections", "35-person-corrections"),
            ("/my/corrections/request", "38-person-ask-for-correction"),
        ]:
            page.goto(server.url + path)
            a11y(page, name)
        page.get_by_role("button", name="Sign out").click()
        assert "You have signed out" in page.inner_text("main")
        sign_in(page, server.url, demo_email("partner", "dvla"))
        page.get_by_role("link", name="Rectification notices").first.click()
        a11y(page, "36-partner-notices")
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, server.url, demo_email("caseworker"))
        page.goto(f"{server.url}/casework/people/{person}")
        page.get_by_role("link", name=re.compile("Correct this record")).first.click()
        assert "Who will be told" in page.inner_text("main")
        a11y(page, "37-caseworker-correction")
        for path, name in [
            (f"/casework/people/{person}/decisions", "39-caseworker-record-decision"),
            ("/casework/watchlist", "40-caseworker-watchlist"),
        ]:
            page.goto(server.url + path)
            a11y(page, name)
        # Assisted digital: the caseworker issues a credential for the person and can print it.
        page.goto(f"{server.url}/casework/people/{person}")
        page.get_by_role("button", name="Digital status credentials").click()
        page.get_by_label("Right to work").check()
        page.get_by_role("button", name="Issue credential").click()
        assert "Credential issued: Right to work" in page.inner_text("main")
        a11y(page, "44-caseworker-credentials")
        assert page.get_by_role("link", name=re.compile("^Print")).count() >= 1
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, server.url, demo_email("officer"))
        for path, name in [
            ("/governance/reports", "41-officer-reports"),
            ("/governance/quality", "42-officer-quality"),
        ]:
            page.goto(server.url + path)
            assert page.locator("h1").count() == 1
            a11y(page, name)
        # From the overview to one agreement's report; vega-embed draws its charts as SVG.
        page.goto(server.url + "/governance/reports")
        page.get_by_role("link", name="HO-DVLA-001 report").click()
        assert "HO-DVLA-001" in page.locator("h1").inner_text()
        page.wait_for_selector(".sg-chart svg")
        a11y(page, "43-officer-agreement-report")
    finally:
        ctx.close()


def test_details_held_by_two_records_send_the_person_to_a_caseworker(
    browser: Any, server: Any, e2e_db: Any
) -> None:
    """A duplicate in the register signs in to neither record: the page says what to do next,
    gives a reference, shows nobody's details, and meets WCAG 2.2 AA."""
    from datetime import date

    from shareguard.storage.db import unit_of_work
    from tests import factories

    _, engine, world = e2e_db
    with unit_of_work(engine) as session:
        for _ in range(2):  # the same name, date of birth and document, recorded twice
            factories.person(
                session,
                "Wren",
                "Twinrecord",
                date(1987, 3, 9),
                documents=("TW7654321",),
                by=world.principal("caseworker"),
                commit=False,
            )
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    try:
        page = ctx.new_page()
        page.goto(server.url + "/my/")
        page.get_by_role("button", name="Start now").click()
        page.get_by_label("Given names").fill("Wren")
        page.get_by_label("Family name").fill("Twinrecord")
        page.get_by_label("Day").fill("9")
        page.get_by_label("Month").fill("3")
        page.get_by_label("Year").fill("1987")
        page.get_by_label("Passport or residence document number").fill("TW7654321")
        page.get_by_role("button", name="Continue").click()
        assert page.locator("h1").inner_text() == "We cannot sign you in online"
        main = page.inner_text("main")
        assert "Ask a caseworker for help" in main and "Twinrecord" not in main
        assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", page.locator("#reference").inner_text())
        assert page.get_by_label("Security code").count() == 0
        a11y(page, "45-person-several-records")
    finally:
        ctx.close()

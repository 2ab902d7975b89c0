"""Browser journeys for credentials and locks: the person gets, downloads and revokes a credential
a partner checks in the console; the person locks checks by name and date of birth."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PERSON, a11y, demo_email, person_sign_in, sign_in

pytestmark = pytest.mark.browser


def _context(browser: Any) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(10_000)
    return ctx


def _verify_file(partner: Any, base: str, path: str) -> str:
    partner.goto(base + "/credentials/verify")
    partner.get_by_label("Or upload the credential file").set_input_files(path)
    partner.get_by_role("button", name="Check credential").click()
    return str(partner.locator("#result-outcome").inner_text())


def test_person_gets_a_credential_a_partner_checks_it_then_the_person_revokes_it(
    browser: Any, server: Any, person: str, tmp_path: Path
) -> None:
    person_ctx, partner_ctx = _context(browser), _context(browser)
    try:
        me = person_ctx.new_page()
        person_sign_in(me, server.url)
        me.get_by_role("link", name="Digital status credentials").click()
        assert "lasts 30 days" in me.inner_text("main")
        a11y(me, "60-person-credentials")
        me.get_by_label("Right to work").check()
        me.get_by_role("button", name="Get a new credential").click()
        panel = me.locator(".govuk-panel").inner_text()
        assert "Your credential is ready" in panel and "It proves: right to work" in panel
        assert "<br>" not in panel
        assert me.locator(".sg-credential-qr svg").is_visible()
        a11y(me, "61-person-credential-issued")
        with me.expect_download() as download:
            me.get_by_role("link", name="Download the credential file (.jwt)").click()
        assert re.fullmatch(r"credential-[0-9a-f-]{36}\.jwt", download.value.suggested_filename)
        saved = str(tmp_path / download.value.suggested_filename)
        download.value.save_as(saved)
        assert Path(saved).read_text().startswith("eyJ")

        # The employer uploads the file in the console: valid, with the holder's status.
        partner = partner_ctx.new_page()
        sign_in(partner, server.url, demo_email("partner", "brightwork"))
        partner.get_by_role("link", name="Check a credential").first.click()
        partner.wait_for_url(re.compile(r"/credentials/verify$"))
        a11y(partner, "64-partner-verify-credential")
        assert _verify_file(partner, server.url, saved) == "Valid"
        holder = partner.locator("#holder-status").inner_text()
        assert f"{PERSON['given']} {PERSON['family']}" in holder
        assert "No more than 20 hours a week" in holder
        assert "(UTC)" in partner.locator("#checked-at").inner_text()
        a11y(partner, "65-partner-verify-result")

        # The person revokes it (check-answers page, then a confirmation) ...
        me.get_by_role("link", name="Go to your credentials").click()
        me.get_by_role("link", name=re.compile(r"^View the Right to work credential")).first.click()
        me.get_by_role("button", name="Revoke this credential").click()
        a11y(me, "62-person-credential-revoke")
        me.get_by_label("I have lost it, or someone else may have it").check()
        me.get_by_role("button", name="Revoke credential").click()
        assert "Credential revoked" in me.inner_text("main")
        a11y(me, "62b-person-credential-revoked")

        # ... and the same file now fails the employer's check.
        assert _verify_file(partner, server.url, saved) == "Revoked"
        assert "Do not accept this credential" in partner.inner_text("main")
        assert partner.locator("#holder-status").count() == 0

        # The locks page, linked from the account page (set and cleared in the test below).
        me.goto(server.url + "/my/account")
        me.get_by_role("link", name="Lock checks by name and date of birth").click()
        a11y(me, "63-person-locks")
    finally:
        person_ctx.close()
        partner_ctx.close()


def _bank_check(bank: Any, base: str) -> str:
    bank.goto(base + "/checks/new")
    bank.get_by_label("Purpose of the check").select_option("bank_account")
    bank.get_by_label("Name, date of birth and document").check()
    bank.get_by_label("Given names").fill(PERSON["given"])
    bank.get_by_label("Family name").fill(PERSON["family"])
    bank.get_by_label("Document number (optional)").fill(PERSON["document"])
    bank.get_by_label("Day").fill(PERSON["day"])
    bank.get_by_label("Month").fill(PERSON["month"])
    bank.get_by_label("Year").fill(PERSON["year"])
    bank.get_by_role("button", name="Run check").click()
    return str(bank.locator("main h1").first.inner_text())


def test_person_locks_attribute_checks_without_javascript_and_a_bank_is_refused(
    browser: Any, nojs_page: Any, server: Any, person: str
) -> None:
    me = nojs_page  # the person's part runs with JavaScript off (so axe cannot run here)
    bank_ctx = _context(browser)
    try:
        person_sign_in(me, server.url)
        me.get_by_role("link", name="Lock checks by name and date of birth").click()
        main = me.inner_text("main")
        assert "Not locked" in main and "Checks the law requires" in main
        me.get_by_label("Yes, lock them").check()
        me.get_by_role("button", name="Save").click()
        assert "are locked" in me.inner_text(".govuk-notification-banner")
        assert me.locator("#lock-state").inner_text().strip() == "Locked"

        bank = bank_ctx.new_page()
        sign_in(bank, server.url, demo_email("partner", "northbank"))
        assert _bank_check(bank, server.url) == "This check was refused"
        assert "locked" in bank.inner_text("main")

        me.get_by_label("No, unlock them").check()
        me.get_by_role("button", name="Save").click()
        assert "are unlocked" in me.inner_text(".govuk-notification-banner")
        assert me.locator("#lock-state").inner_text().strip() == "Not locked"
        assert _bank_check(bank, server.url) != "This check was refused"
    finally:
        bank_ctx.close()

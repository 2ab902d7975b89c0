"""Browser journeys for the door's other way: a caseworker asks a partner, the partner answers
in its inbox, the caseworker sees the minimised answer and the person sees it; and a request
the health-care firewall refuses before the partner sees anything. Every page is axe-checked."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import a11y, demo_email, person_sign_in, sign_in

pytestmark = pytest.mark.browser


def _context(browser: Any) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    ctx.set_default_timeout(10_000)
    return ctx


def test_caseworker_asks_partner_answers_and_the_person_sees_it(
    browser: Any, server: Any, person: str
) -> None:
    base = server.url
    staff, partner_ctx, person_ctx = _context(browser), _context(browser), _context(browser)
    try:
        cw = staff.new_page()
        sign_in(cw, base, demo_email("caseworker"))
        cw.goto(f"{base}/casework/requests")
        a11y(cw, "90-caseworker-requests")
        cw.get_by_role("button", name="Ask a partner for information").click()
        cw.wait_for_url("**/casework/requests/new")
        cw.get_by_label("Person's reference").fill(person)
        cw.locator("input[name=agreement][value=DWP-HO-001]").check()
        cw.get_by_role("checkbox", name="Address").check()
        cw.get_by_role("checkbox", name="Postcode").check()
        cw.get_by_label("Why do you need it?").fill("Confirm the address before a reporting event")
        a11y(cw, "91-caseworker-request-new")
        cw.get_by_role("button", name="Continue").click()
        cw.wait_for_url("**/casework/requests/check")
        summary = cw.locator(".govuk-summary-list").inner_text()
        assert "Ada Browsertest" in summary and "Department for Work and Pensions" in summary
        a11y(cw, "92-caseworker-request-check")
        cw.get_by_role("button", name="Send request").click()
        cw.wait_for_url(re.compile(r"/casework/requests/[0-9a-f-]{36}$"))
        banner = cw.locator(".govuk-notification-banner").inner_text()
        reference = re.search(r"RQ-[0-9A-F]{10}", banner)
        assert reference, banner
        assert "Waiting for an answer" in cw.inner_text("main")
        a11y(cw, "93-caseworker-request-sent")
        request_url = cw.url

        # The partner answers in its inbox, with a field the agreement does not cover.
        dwp = partner_ctx.new_page()
        sign_in(dwp, base, demo_email("partner", "dwp"))
        dwp.goto(f"{base}/requests")
        a11y(dwp, "94-partner-inbox")
        dwp.get_by_role("link", name=reference.group(0)).click()
        assert "Ada Browsertest" in dwp.inner_text("main")
        a11y(dwp, "95-partner-request")
        dwp.get_by_label("Send the information").check()
        dwp.get_by_label("Address").fill("9 Browser Lane, Eastshire")
        dwp.get_by_label("Postcode").fill("ES9 9BL")
        dwp.get_by_role("button", name="Send answer").click()
        dwp.wait_for_url("**/requests")
        assert "answered" in dwp.locator(".govuk-notification-banner").inner_text()
        a11y(dwp, "96-partner-answered")

        # The caseworker sees the answer, cut to what the agreement covers.
        cw.goto(request_url)
        answer = cw.locator("#answer").inner_text()
        assert "9 Browser Lane, Eastshire" in answer and "ES9 9BL" in answer
        a11y(cw, "97-caseworker-answer")

        # The person sees the request and the answer in "who checked my data".
        me = person_ctx.new_page()
        person_sign_in(me, base)
        me.goto(f"{base}/my/checks")
        text = me.inner_text("main")
        assert "The Home Office asked another organisation for information about you" in text
        assert "An organisation answered a request for information about you" in text
        assert "From Department for Work and Pensions to Home Office" in text
        a11y(me, "98-person-sees-request-and-answer")
    finally:
        for ctx in (staff, partner_ctx, person_ctx):
            ctx.close()


def test_request_refused_by_the_health_care_firewall(
    browser: Any, server: Any, person: str
) -> None:
    base = server.url
    staff, officer_ctx = _context(browser), _context(browser)
    try:
        cw = staff.new_page()
        sign_in(cw, base, demo_email("caseworker"))
        cw.goto(f"{base}/casework/requests/new?person={person}")
        cw.locator("input[name=agreement][value=NHS-HO-002]").check()
        cw.get_by_role("checkbox", name="Address").check()
        cw.get_by_label("Why do you need it?").fill("Trace the person for an enforcement visit")
        cw.get_by_role("button", name="Continue").click()
        cw.wait_for_url("**/casework/requests/check")
        cw.get_by_role("button", name="Send request").click()
        reason = cw.locator("#refusal-reason").inner_text()
        assert "Health-care records are never used for immigration enforcement" in reason
        assert "The partner has not seen this request" in cw.inner_text("main")
        a11y(cw, "99-caseworker-request-refused")

        officer = officer_ctx.new_page()
        sign_in(officer, base, demo_email("officer"))
        officer.goto(f"{base}/governance/requests")
        assert "Health-care records" in officer.inner_text("main")
        a11y(officer, "100-officer-refused-requests")
    finally:
        staff.close()
        officer_ctx.close()


def test_partner_sends_a_file_sees_its_errors_and_a_caseworker_works_the_queue(
    browser: Any, server: Any, tmp_path: Any
) -> None:
    base = server.url
    partner_ctx, staff = _context(browser), _context(browser)
    try:
        hmrc = partner_ctx.new_page()
        sign_in(hmrc, base, demo_email("partner", "hmrc"))
        hmrc.goto(f"{base}/inbound/new")
        a11y(hmrc, "101-partner-send-records")
        path = tmp_path / "employers.csv"
        path.write_text(
            "record_id,name,date_of_birth,address,postcode,employment\n"
            "B1,Bea Filetest,1980-02-03,1 Upload Row,ES1 1UP,Test Ltd\n"
            "B2,Bad Date,03/02/1980,2 Upload Row,ES1 1UP,Test Ltd\n"
        )
        hmrc.locator("input[name=agreement][value=HMRC-HO-001]").check()
        hmrc.get_by_label("Send nothing").check()
        hmrc.set_input_files("#file", str(path))
        hmrc.get_by_role("button", name="Send file").click()
        rows = hmrc.locator("#file-errors").inner_text()
        assert "date_of_birth" in rows and "not a date" in rows and "Bad Date" not in rows
        a11y(hmrc, "102-partner-file-errors")
        hmrc.locator("input[name=agreement][value=HMRC-HO-001]").check()
        hmrc.get_by_label("Send the good rows and list the rest").check()
        hmrc.set_input_files("#file", str(path))
        hmrc.get_by_role("button", name="Send file").click()
        hmrc.wait_for_url(re.compile(r"/inbound/submissions/"))
        assert hmrc.locator("#accepted").inner_text() == "1"
        assert hmrc.locator("#quarantined").inner_text() == "1"
        a11y(hmrc, "103-partner-submission")

        cw = staff.new_page()
        sign_in(cw, base, demo_email("caseworker"))
        cw.goto(f"{base}/casework/inbound")
        a11y(cw, "104-caseworker-inbound-queue")
        cw.get_by_role("link", name=re.compile("HM Revenue and Customs")).first.click()
        assert "Unverified information" in cw.inner_text("main")
        a11y(cw, "105-caseworker-inbound-record")
        cw.goto(f"{base}/")
        assert "From Northfield NHS Trust to Home Office" in cw.inner_text("main")
        a11y(cw, "106-register-with-direction")
    finally:
        partner_ctx.close()
        staff.close()

"""Browser journeys through the console's foundation: register, sign-in, lifecycle, safeguards."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.e2e.conftest import a11y, demo_email, sign_in

pytestmark = pytest.mark.browser


def test_public_register_filters_and_agreement_detail(page: Any, server: Any) -> None:
    page.goto(server.url + "/")
    assert page.title().startswith("Register of data-sharing agreements")
    a11y(page, "01-public-register")
    page.get_by_label("Status").select_option("paused")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and "HO-BANK-002" in rows.first.inner_text()
    page.get_by_role("link", name="HO-BANK-002").click()
    assert page.get_by_role("heading", name="Checklist").is_visible()
    assert "Paused pending a data-quality review" in page.locator(".moj-timeline").inner_text()
    a11y(page, "02-agreement-detail-public")
    csv = page.request.get(server.url + "/api/v1/transparency.csv")
    assert csv.ok and csv.text().startswith("reference,title,status")


def test_officer_pauses_and_resumes_an_agreement(page: Any, server: Any) -> None:
    sign_in(page, server.url, demo_email("officer"))
    assert page.get_by_role("heading", name="Home").is_visible()
    a11y(page, "03-officer-home")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Agreements").click()
    a11y(page, "04-officer-agreements")
    page.get_by_role("link", name="HO-NHS-001").click()
    page.get_by_role("button", name="Pause HO-NHS-001").click()
    page.get_by_role("button", name="Pause").click()  # no reason: refused with an error summary
    assert page.locator(".govuk-error-summary").inner_text().count("Enter a reason") == 1
    a11y(page, "05-pause-error")
    page.get_by_label("Reason").fill("Checking accuracy after a complaint (browser test)")
    page.get_by_role("button", name="Pause").click()
    assert "Agreement HO-NHS-001 paused" in page.locator(".govuk-notification-banner").inner_text()
    assert "Checking accuracy after a complaint" in page.locator(".moj-timeline").inner_text()
    a11y(page, "06-agreement-paused")
    page.get_by_role("button", name="Resume HO-NHS-001").click()
    page.get_by_role("button", name="Resume").click()
    assert "Agreement HO-NHS-001 resumed" in page.inner_text("main")


def test_forged_form_is_refused_with_a_403_page(page: Any, server: Any) -> None:
    sign_in(page, server.url, demo_email("officer"))
    page.goto(server.url + "/agreements/HO-DWP-001/pause")
    page.locator("main input[name=csrf_token]").evaluate("el => el.value = 'forged-token'")
    page.get_by_label("Reason").fill("forged")
    with page.expect_response(re.compile(r"/pause$")) as response:
        page.get_by_role("button", name="Pause").click()
    assert response.value.status == 403
    assert page.get_by_role("heading", name="Your form could not be accepted").is_visible()
    a11y(page, "07-csrf-rejected")
    page.goto(server.url + "/agreements/HO-DWP-001")
    assert "Paused" not in page.locator(".moj-timeline").inner_text()


def test_partner_cannot_open_governance_pages(page: Any, server: Any) -> None:
    sign_in(page, server.url, demo_email("partner", "brightwork"))
    nav = page.get_by_role("navigation", name="Menu").inner_text()
    assert "Firewall" not in nav and "Audit log" not in nav
    response = page.goto(server.url + "/agreements/HO-EMP-001/pause")
    assert response is not None and response.status == 403
    assert page.get_by_role(
        "heading", name="You do not have permission to see this page"
    ).is_visible()
    a11y(page, "08-partner-forbidden")
    page.goto(server.url + "/agreements")
    listed = page.locator("tbody").inner_text()
    assert "HO-EMP-001" in listed and "HO-DVLA-001" not in listed


def test_session_expires_and_asks_to_sign_in_again(page: Any, short_session_server: Any) -> None:
    base = short_session_server.url
    sign_in(page, base, demo_email("auditor"))
    assert page.get_by_role("heading", name="Home").is_visible()
    time.sleep(3)
    page.goto(base + "/agreements")
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert "signed out because you were inactive" in page.inner_text("main")
    a11y(page, "09-session-expired")


def test_sign_in_and_out_with_the_keyboard_only(page: Any, server: Any) -> None:
    page.goto(server.url + "/sign-in")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    page.keyboard.press("Enter")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    page.keyboard.type(demo_email("reviewer"))
    page.keyboard.press("Tab")
    page.keyboard.type("shareguard-demo")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/console$"))
    assert "Signed in as" in page.inner_text("body")


def test_journeys_work_without_javascript(nojs_page: Any, server: Any) -> None:
    page = nojs_page
    sign_in(page, server.url, demo_email("officer"))
    page.goto(server.url + "/agreements/HO-BANK-001/review")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill(str(time.gmtime().tm_year + 1))
    page.get_by_label("Reason or note (optional)").fill("Annual review (no JavaScript)")
    page.get_by_role("button", name="Record a review").click()
    assert "Agreement HO-BANK-001 reviewed" in page.inner_text("main")
    page.get_by_role("button", name="Sign out").click()
    assert "You have signed out" in page.inner_text("main")

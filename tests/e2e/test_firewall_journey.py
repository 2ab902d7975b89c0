"""Browser journey: an officer pauses sharing and proposes a firewall rule; a second approves it.

The browser tests share one database, so the pause starts next month (it refuses nothing other
tests ask) and the new rule protects witnesses' exports only.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from shareguard.storage.base import today
from tests.e2e.conftest import a11y, demo_email, sign_in

pytestmark = pytest.mark.browser


def test_officer_pauses_sharing_and_proposes_a_rule_a_second_officer_approves(
    server: Any, page: Any, browser: Any
) -> None:
    base = server.url
    sign_in(page, base, demo_email("officer"))
    page.goto(f"{base}/governance/firewall")
    page.get_by_role("button", name="Pause sharing").click()
    page.wait_for_url("**/governance/pauses/new")
    a11y(page, "80-officer-pause-new")
    start, end = today() + timedelta(days=30), today() + timedelta(days=40)
    title = "No checks about people aged over 30 (browser test)"
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Why is sharing paused?").fill("Pre-1973 arrivals review, browser test")
    page.locator("input[name=agreement][value=HO-DVLA-001]").check()
    page.get_by_role("checkbox", name="Real-time checks").check()
    page.get_by_label("Only people aged over a given age").check()
    page.get_by_label("Age in years").fill("30")
    for prefix, day in (("start", start), ("end", end)):
        page.locator(f"#{prefix}-day").fill(str(day.day))
        page.locator(f"#{prefix}-month").fill(str(day.month))
        page.locator(f"#{prefix}-year").fill(str(day.year))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/governance/pauses/check")
    effect = page.locator("#pause-effect").inner_text()
    assert effect == (
        "Checks under HO-DVLA-001 about people aged over 30 on the date of the decision will be "
        f"refused from {start.day} {start:%B %Y} at 12:00am until the end of "
        f"{end.day} {end:%B %Y}."
    )
    a11y(page, "81-officer-pause-check")
    page.get_by_role("button", name="Pause sharing").click()
    page.wait_for_url("**/governance/firewall")
    banner = page.locator(".govuk-notification-banner").inner_text()
    assert f"Sharing paused: {title}" in banner
    assert "will be refused from" in banner

    # Propose a new rule.
    key = f"witness-exports-{uuid.uuid4().hex[:6]}"
    page.get_by_role("button", name="Propose a firewall change").click()
    page.wait_for_url("**/governance/firewall/changes/new")
    page.get_by_label("Add a new rule").check()
    page.get_by_label("Short name for a new rule").fill(key)
    page.get_by_label("Title", exact=True).fill("Witness records are never exported")
    page.get_by_role("checkbox", name="Witnesses of crime").check()
    page.get_by_role("checkbox", name="Exports").check()
    page.get_by_label("Why is this change needed?").fill("Victims' charities asked for it")
    a11y(page, "82-officer-firewall-propose")
    page.get_by_role("button", name="Propose change").click()
    page.wait_for_url("**/governance/firewall")
    assert (
        "A second governance officer must approve it"
        in page.locator(".govuk-notification-banner").inner_text()
    )
    card = page.locator(".govuk-summary-card", has_text=key)
    assert "Waiting for another officer" in card.inner_text()

    # The second officer approves it.
    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    second = other.new_page()
    try:
        sign_in(second, base, demo_email("officer2"))
        second.goto(f"{base}/governance/firewall#changes")
        card = second.locator(".govuk-summary-card", has_text=key)
        card.get_by_label("Note (optional)").fill("Checked with the legal team")
        a11y(second, "83-officer-firewall-approve")
        card.get_by_role("button", name="Approve").click()
        second.wait_for_url("**/governance/firewall")
        assert (
            f"Change approved: add a rule {key}"
            in second.locator(".govuk-notification-banner").inner_text()
        )
        assert second.locator(".govuk-summary-card", has_text="Witness records are never exported")
        assert second.get_by_text(key, exact=True).count() >= 1
    finally:
        other.close()


def test_pause_form_refuses_empty_answers_without_javascript(server: Any, nojs_page: Any) -> None:
    base = server.url
    sign_in(nojs_page, base, demo_email("officer"))
    nojs_page.goto(f"{base}/governance/pauses/new")
    nojs_page.get_by_label("Age in years").fill("old")
    nojs_page.get_by_label("Only people aged over a given age").check()
    nojs_page.get_by_role("button", name="Continue").click()
    summary = nojs_page.locator(".govuk-error-summary").inner_text()
    assert "Enter a title for the pause of at least 5 characters" in summary
    assert "Enter the reason for the pause" in summary
    assert "Age must be a whole number of years from 0 to 150" in summary
    assert nojs_page.title().startswith("Error: Pause sharing")

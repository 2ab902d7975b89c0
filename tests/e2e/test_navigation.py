"""Every role finds its way from the home page: each menu page renders without JavaScript
and, with JavaScript, passes axe (WCAG 2.2 A/AA)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import a11y, demo_email, person_sign_in, sign_in

ROLES = [
    ("officer", "ho"),
    ("auditor", "ho"),
    ("caseworker", "ho"),
    ("reviewer", "ho"),
    ("partner", "dvla"),
]


def _menu(page: Any) -> list[tuple[str, str]]:
    links = page.locator(".govuk-service-navigation__list a")
    return [
        (links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href") or "")
        for i in range(links.count())
    ]


def _visit_all(page: Any, base: str, prefix: str, shoot: bool) -> list[str]:
    """Follow every menu link from the current page; return the page titles seen."""
    seen = []
    for text, href in _menu(page):
        response = page.goto(base + href)
        assert response is not None and response.ok, f"{text} ({href}) gave {response.status}"
        assert page.locator("h1").count() == 1, f"{text} ({href}) has no single h1"
        assert page.locator(".govuk-service-navigation").count() == 1
        if shoot:
            a11y(page, f"nav-{prefix}-{href.strip('/').replace('/', '-') or 'home'}")
        seen.append(page.locator("h1").inner_text())
    return seen


@pytest.mark.parametrize(("local", "org"), ROLES)
def test_each_staff_menu_page_works_with_and_without_javascript(
    browser: Any, server: Any, local: str, org: str
) -> None:
    titles = {}
    for js in (False, True):
        ctx = browser.new_context(java_script_enabled=js, viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(15_000)
        try:
            page = ctx.new_page()
            sign_in(page, server.url, demo_email(local, org))
            assert page.url.endswith("/console")
            assert "What you can do" in page.inner_text("main")
            titles[js] = _visit_all(page, server.url, local, shoot=js)
        finally:
            ctx.close()
    # The same pages, whether or not JavaScript runs; more than the home page alone.
    assert titles[False] == titles[True] and len(titles[True]) >= 3


def test_each_page_of_the_persons_menu_works(browser: Any, server: Any, person: str) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        page = ctx.new_page()
        person_sign_in(page, server.url)
        titles = _visit_all(page, server.url, "person", shoot=True)
        assert "Your immigration data" in titles and len(titles) >= 7
    finally:
        ctx.close()

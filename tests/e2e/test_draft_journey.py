"""Browser journey: a governance officer adds a draft agreement from the example file."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import a11y, demo_email, sign_in

pytestmark = pytest.mark.browser


def _example_with_new_reference(page: Any, tmp_path: Path, prefix: str) -> tuple[str, Path]:
    """Download the example from the page, give it a fresh reference, save it to upload."""
    with page.expect_download() as info:
        page.get_by_role("link", name="Download an example file (YAML)").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    ref = f"{prefix}-{uuid.uuid4().hex[:6].upper()}"
    assert "reference: HO-EXAMPLE-001" in text
    path = tmp_path / "agreement.yaml"
    path.write_text(text.replace("HO-EXAMPLE-001", ref), encoding="utf-8")
    return ref, path


def test_officer_uploads_the_example_checks_and_creates_a_draft(
    page: Any, server: Any, tmp_path: Path
) -> None:
    sign_in(page, server.url, demo_email("officer"))
    page.goto(server.url + "/agreements")
    page.get_by_role("button", name="Add a draft agreement").click()
    page.wait_for_url(re.compile(r"/agreements/new$"))
    a11y(page, "90-officer-agreement-new")
    ref, path = _example_with_new_reference(page, tmp_path, "HO-E2E")

    # A pasted file with mistakes: each is listed with its line, and the text stays to fix.
    page.get_by_label("Or paste the file's text").fill(
        path.read_text(encoding="utf-8").replace("role: recipient", "role: receiver")
    )
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert "line 12: parties.1.role" in page.locator(".govuk-error-summary").inner_text()
    a11y(page, "93-officer-agreement-new-errors")
    page.get_by_label("Or paste the file's text").fill("")

    page.get_by_label("Upload the agreement file").set_input_files(str(path))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    main = page.inner_text("main")
    assert "Check the draft agreement" in main
    for shown in (ref, "Home Office", "Oakfield Lettings", "Right to rent", "1 December 2027"):
        assert shown in main, shown
    a11y(page, "91-officer-agreement-check")

    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(re.compile(rf"/agreements/{ref}$"))
    main = page.inner_text("main")
    assert f"Draft agreement {ref} created" in main
    assert "a governance officer other than you must sign it off" in main
    a11y(page, "92-officer-agreement-created")

    page.goto(server.url + "/agreements?status=draft")
    row = page.locator("tr", has_text=ref)
    assert row.count() == 1 and "Draft" in row.inner_text()


def test_upload_works_without_javascript(nojs_page: Any, server: Any, tmp_path: Path) -> None:
    page = nojs_page
    sign_in(page, server.url, demo_email("officer"))
    page.goto(server.url + "/agreements/new")
    # A mistake first: the error summary names the line and the field.
    page.get_by_label("Or paste the file's text").fill(
        "reference: HO-NOJS-BAD\ntitle: A draft\npurposes: [no_such_purpose]\n"
    )
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "line 3: purposes.0: unknown purpose; known:" in summary
    assert "data_items" in summary  # every problem is listed, not just the first

    ref, path = _example_with_new_reference(page, tmp_path, "HO-NOJS")
    page.get_by_label("Or paste the file's text").fill("")
    page.get_by_label("Upload the agreement file").set_input_files(str(path))
    page.get_by_role("button", name="Continue").click()
    assert "Check the draft agreement" in page.inner_text("main")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(re.compile(rf"/agreements/{ref}$"))
    assert f"Draft agreement {ref} created" in page.inner_text("main")

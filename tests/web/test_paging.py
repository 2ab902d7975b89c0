"""Long console lists come a page at a time, with counts that are never capped."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from shareguard.audit.models import AuditEntry
from shareguard.checks.models import Case, Check
from shareguard.storage.base import new_id, today, utcnow
from shareguard.storage.bulk import insert_rows
from tests.factories import TestWorld
from tests.web.console_helpers import sign_in


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _cases(world: TestWorld, n: int) -> None:
    """``n`` open referrals (bulk: the pages, not the checks, are under test)."""
    s, now = world.session, utcnow()
    checks: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    for i in range(n):
        check = new_id()
        checks.append(
            {
                "id": check,
                "at": now,
                "organisation_id": world.orgs["agency"],
                "purpose": "driving_licence",
                "method": "attributes",
                "outcome": "referred",
            }
        )
        cases.append(
            {
                "id": new_id(),
                "check_id": check,
                "kind": "referral",
                "state": "open",
                "opened_at": now,
                "respond_by": today() + timedelta(days=i % 20),
                "statement": "",
                "outcome": "",
                "outcome_note": "",
            }
        )
    insert_rows(s, Check, checks)
    insert_rows(s, Case, cases)
    s.commit()


def test_referrals_page_through_and_the_home_count_is_not_capped(
    client: TestClient, world: TestWorld
) -> None:
    _cases(world, 1_234)
    sign_in(client, "caseworker")
    home = _text(client.get("/console").text)
    assert "1,234 open referrals and contests" in home
    first = _text(client.get("/casework/contests").text)
    assert "1,234 open cases" in first and "Showing 1 to 50 of 1,234 cases" in first
    page = client.get("/casework/contests?state=open&page=3").text
    assert "Showing 101 to 150 of 1,234 cases" in _text(page)
    assert 'href="/casework/contests?state=open&amp;page=4"' in page  # next keeps the filter
    assert page.count("/casework/cases/") == 50
    last = _text(client.get("/casework/contests?page=999").text)
    assert "Showing 1,201 to 1,234 of 1,234 cases" in last  # past the end: the last page
    assert "Showing" in _text(client.get("/casework/contests?page=x").text)


def test_audit_log_pages_and_filters_in_the_database(client: TestClient, world: TestWorld) -> None:
    s, now = world.session, utcnow()
    insert_rows(
        s,
        AuditEntry,
        [
            {
                "id": new_id(),
                "at": now,
                "action": "test.paging" if i % 2 else "other.paging",
                "reasons": [],
                "details": {},
            }
            for i in range(2_400)
        ],
    )
    s.commit()
    sign_in(client, "officer")
    page = _text(client.get("/governance/audit").text)
    total = int(re.search(r"([\d,]+) entries, newest first", page).group(1).replace(",", ""))
    assert total >= 2_400 and "Showing 1 to 50 of" in page
    filtered = _text(client.get("/governance/audit?action=test.&page=2").text)
    assert "1,200 entries whose action starts with “test.”" in filtered
    assert "Showing 51 to 100 of 1,200 entries" in filtered

"""The governance reports page: figures, chart specs with table alternatives, role checks."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient

from shareguard.reports.service import ReportService
from tests.corrections.scenario import build
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, sign_in

SPEC = r'<script type="application/json" id="([^"]+)-spec">(.*?)</script>'


def test_officer_sees_figures_charts_and_their_tables(client: TestClient, world: TestWorld) -> None:
    build(world)
    report = ReportService(world.session).report(world.principals["officer"])
    world.session.commit()  # end the read so the app's session can write (SQLite)
    sign_in(client, "officer")
    page = client.get("/governance/reports")
    assert page.status_code == 200
    html = page.text
    assert 'href="/governance/reports"' in html  # in the navigation
    assert "All agreements" in html
    # Every agreement is compared on the overview and links to its own report.
    for section in report["agreements"]:
        assert f'href="/governance/reports/{section["reference"]}?period=month"' in html
    # Every chart's spec is embedded, and followed by a table of the same figures.
    specs = re.findall(SPEC, html)
    assert len(specs) == 4
    chart_id, raw = next(s for s in specs if s[0] == "chart-all-checks")
    spec = json.loads(raw)
    assert spec["mark"]["type"] == "bar"
    after = html[html.index(f'id="{chart_id}-spec"') :]
    table = after[: after.index("</table>")]
    assert "Checks by outcome" in table
    for outcome, count in report["checks"]["by_outcome"].items():
        assert re.search(rf">{re.escape(outcome)}</th>\s*<td[^>]*>{count}</td>", table)
    assert report["checks"]["total"] > 0
    # Headline figures and downloads.
    assert re.search(rf"Checks</th><td[^>]*>{report['checks']['total']}</td>", html)
    assert 'href="/api/v1/reports.csv?period=month"' in unescape(html)
    assert "/static/reports.js" in html


def test_one_agreements_report_has_its_own_charts_and_figures(
    client: TestClient, world: TestWorld
) -> None:
    build(world)
    report = ReportService(world.session).report(world.principals["officer"])
    world.session.commit()
    section = max(report["agreements"], key=lambda s: s["checks"]["total"])
    assert section["checks"]["total"] > 0
    sign_in(client, "officer")
    page = client.get(f"/governance/reports/{section['reference']}")
    assert page.status_code == 200
    html = page.text
    assert f"{section['reference']}: {section['title']}" in unescape(html)
    assert 'href="/governance/reports?period=month"' in html  # back to all reports
    assert re.search(rf"Checks</th><td[^>]*>{section['checks']['total']}</td>", html)
    assert len(re.findall(SPEC, html)) == 4
    missing = client.get("/governance/reports/NO-SUCH-REF")
    assert missing.status_code == 404 and "Page not found" in missing.text


def test_period_choice_regroups_disclosures(client: TestClient, world: TestWorld) -> None:
    build(world)
    world.session.commit()
    sign_in(client, "auditor")
    page = client.get("/governance/reports?period=year")
    assert page.status_code == 200
    assert '<option value="year" selected>' in page.text
    # An unknown period falls back to months rather than failing.
    assert '<option value="month" selected>' in client.get("/governance/reports?period=x").text


def test_only_officers_and_auditors_see_reports(client: TestClient, world: TestWorld) -> None:
    for who in ("agency_user", "caseworker"):
        sign_in(client, who)
        page = client.get("/governance/reports")
        assert page.status_code == 403
        assert 'href="/governance/reports"' not in client.get("/console").text
        client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})


def test_rates_read_as_percentages() -> None:
    from shareguard.web.console.reports import as_shown

    assert as_shown("Error rate", "0.3333") == "33.3%"
    assert as_shown("Referral rate", "") == ""  # no figure yet stays empty
    assert as_shown("Checks", "12") == "12"

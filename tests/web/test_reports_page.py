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
    for section in report["agreements"]:
        assert section["reference"] in html
    # Every chart's spec is embedded, and followed by a table of the same figures.
    specs = re.findall(r'<script type="application/json" id="([^"]+)-spec">(.*?)</script>', html)
    assert len(specs) == 4 * (1 + len(report["agreements"]))
    chart_id, raw = next(s for s in specs if s[0] == "chart-0-checks")
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

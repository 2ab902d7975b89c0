"""Reports on the small story: totals reconcile with the audit log; assessments; CLI; API."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shareguard.agreements import transparency
from shareguard.audit.models import AuditEntry
from shareguard.checks import AttributeQuery, CheckService
from shareguard.corrections import CorrectionService, NoticeService
from shareguard.errors import InvalidInput, Refused
from shareguard.reports.service import ReportService
from shareguard.storage.base import replay_clock, today, utcnow
from tests import factories
from tests.corrections.scenario import DOB, FAMILY, GIVEN, Story, build
from tests.factories import bearer


def play(world: Any) -> Story:
    """The story, then the over-30 pause refuses the agency's next check, then a correction."""
    story = build(world)
    factories.pause(world, agreements=[str(story.agreements["agency"])], commit=False)
    with pytest.raises(Refused):
        CheckService(world.session).attribute_check(
            world.principals["agency"], AttributeQuery("driving_licence", GIVEN, FAMILY, DOB)
        )
    svc = CorrectionService(world.session)
    c = svc.correct(
        world.principals["caseworker"],
        target_kind="decision",
        target_id=story.decision.id,
        reason="The refusal was wrong: leave since 1973",
        evidence_ref="LANDING-CARD-1973",
        changes={"overturned": True},
    )
    svc.approve(c.id, world.principals["caseworker2"])
    notices = NoticeService(world.session)
    council_notice = next(
        n for n in notices.notices_of(c.id) if n.organisation_id == world.orgs["council"]
    )
    notices.acknowledge(council_notice.id, world.principals["council"])
    world.session.commit()  # the story is its own unit of work (services never commit)
    return story


def audit_count(session: Any, action: str, agreement_id: uuid.UUID | None = None, **kw: Any) -> int:
    stmt = select(func.count()).select_from(AuditEntry)
    stmt = (
        stmt.where(AuditEntry.action.like(action))
        if "%" in action
        else stmt.where(AuditEntry.action == action)
    )
    if agreement_id is not None:
        stmt = stmt.where(AuditEntry.agreement_id == agreement_id)
    for k, v in kw.items():
        stmt = stmt.where(getattr(AuditEntry, k) == v)
    return session.scalar(stmt)


def test_report_totals_reconcile_with_the_audit_log(world) -> None:  # type: ignore[no-untyped-def]
    story = play(world)
    s = world.session
    report = ReportService(s).report(world.principals["officer"])
    sections = {a["agreement_id"]: a for a in report["agreements"]}
    for code, agreement_id in story.agreements.items():
        section = sections[str(agreement_id)]
        assert section["disclosures"]["total"] == audit_count(
            s, "disclosure.%", agreement_id, decision="permit"
        ), code
        assert section["checks"]["total"] == audit_count(
            s, "disclosure.check_answer", agreement_id
        ), code
        assert section["refusals"]["total"] == audit_count(s, "policy.deny", agreement_id), code
        assert section["matching"]["adverse_actions"] == audit_count(
            s, "matching.adverse_action", agreement_id, decision="permit"
        ), code
        assert section["corrections"]["notices"] == audit_count(
            s, "correction.notice", agreement_id
        ), code
    assert report["disclosures"]["total"] == audit_count(s, "disclosure.%", decision="permit")
    assert report["refusals"]["total"] == audit_count(s, "policy.deny")
    assert report["corrections"]["acknowledged"] == audit_count(s, "correction.acknowledge")

    # and the figures are the story's: what a governance officer would read
    agency = sections[str(story.agreements["agency"])]
    council = sections[str(story.agreements["council"])]
    assert agency["disclosures"]["total"] == 1
    assert agency["refusals"]["by_kind"] == {"pause": 1}
    assert agency["pause_effect"]["before"] == 1 and agency["pause_effect"]["after"] == 0
    assert agency["checks"]["by_outcome"] == {"not_confirmed": 1}
    assert (council["matching"]["candidates"], council["matching"]["confirmed"]) == (1, 1)
    assert council["matching"]["adverse_actions"] == 1
    assert council["matching"]["error_rate"] == 1.0  # the one action rested on wrong data
    assert council["corrections"]["acknowledged"] == 1
    assert council["corrections"]["time_to_rectify"]["done"] == 1
    assert report["corrections"]["notices"] == 3 and report["corrections"]["corrections"] == 1
    year = today().year
    assert agency["disclosures"]["yearly"] == [{"year": year, "disclosures": 1}]


def test_transparency_register_shows_yearly_volumes(world) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    story = build(world)
    register = transparency.register(world.session)
    schema = json.loads(
        (Path(__file__).parents[2] / "schemas" / "transparency.schema.json").read_text()
    )
    jsonschema.validate(register, schema)
    by_ref = {e["reference"]: e for e in register["agreements"]}
    from shareguard.agreements.models import Agreement

    council = world.session.get(Agreement, story.agreements["council"])
    assert by_ref[council.reference]["yearly_volumes"] == [{"year": today().year, "disclosures": 1}]


def test_value_assessment_and_reminders(client, world) -> None:  # type: ignore[no-untyped-def]
    story = play(world)
    svc = ReportService(world.session)
    officer = world.principals["officer"]
    agreement_id = story.agreements["council"]
    reminders = {r["agreement_id"]: r for r in svc.reminders(officer)}
    assert "no value assessment recorded" in reminders[str(agreement_id)]["reasons"]
    good = {
        "period_start": (today() - timedelta(days=365)).isoformat(),
        "period_end": today().isoformat(),
        "benefit_claimed": "Recovers overpaid tax credits",
        "evidence": "None recorded: one action taken, and it was overturned",
        "evidence_strength": "none",
        "conclusion": "suspend",
        "next_review_date": (today() + timedelta(days=30)).isoformat(),
    }
    world.session.rollback()
    url = f"/api/v1/agreements/{agreement_id}/value-assessments"
    bad = client.post(url, json={**good, "evidence": ""}, headers=bearer(world.keys["officer"]))
    assert bad.status_code == 422 and bad.json()["field"] == "evidence"
    assert client.post(url, json=good, headers=bearer(world.keys["agency"])).status_code == 403
    r = client.post(url, json=good, headers=bearer(world.keys["officer"]))
    assert r.status_code == 201, r.text
    # the measured figures are kept with the judgement
    assert (r.json()["error_rate"], r.json()["adverse_actions"]) == (1.0, 1)
    assert [a["id"] for a in client.get(url, headers=bearer(world.keys["officer"])).json()] == [
        r.json()["id"]
    ]
    reminders = {r["agreement_id"]: r for r in svc.reminders(officer)}
    assert reminders[str(agreement_id)]["reasons"] == ["review due within 60 days"]
    with pytest.raises(InvalidInput, match="period_end"):
        svc.assess(
            agreement_id,
            officer,
            period_start=today(),
            period_end=today() - timedelta(days=1),
            benefit_claimed="x",
            evidence="y",
            evidence_strength="weak",
            conclusion="continue",
            next_review_date=today() + timedelta(days=1),
        )


def test_each_section_shows_its_agreements_latest_assessment(world) -> None:  # type: ignore[no-untyped-def]
    """The overall report reads assessments once for every section: each its own, the latest."""
    story = play(world)
    svc = ReportService(world.session)
    officer = world.principals["officer"]
    council, agency = story.agreements["council"], story.agreements["agency"]

    def assess(conclusion: str) -> None:
        svc.assess(
            council,
            officer,
            period_start=today() - timedelta(days=90),
            period_end=today(),
            benefit_claimed="Recovers overpaid tax credits",
            evidence="One action taken, and it was overturned",
            evidence_strength="weak",
            conclusion=conclusion,
            next_review_date=today() + timedelta(days=30),
        )

    with replay_clock(utcnow() - timedelta(days=2)):
        assess("continue")
    assess("suspend")
    world.session.commit()
    sections = {s["agreement_id"]: s for s in svc.report(officer)["agreements"]}
    assert sections[str(council)]["value_assessment"]["conclusion"] == "suspend"
    assert sections[str(agency)]["value_assessment"] is None
    for aid in (council, agency):
        one = svc.report(officer, agreement_id=aid)
        assert one["value_assessment"] == sections[str(aid)]["value_assessment"]
        for key in ("direction", "disclosers", "recipients"):
            assert one[key] == sections[str(aid)][key]


def test_report_api_and_charts(client, world) -> None:  # type: ignore[no-untyped-def]
    story = play(world)
    agreement_id = story.agreements["council"]
    world.session.rollback()
    officer = bearer(world.keys["officer"])
    r = client.get(f"/api/v1/agreements/{agreement_id}/report", headers=officer)
    assert r.status_code == 200 and r.json()["matching"]["error_rate"] == 1.0
    charts = client.get(f"/api/v1/agreements/{agreement_id}/report/charts", headers=officer).json()
    assert charts["matching"]["$schema"].endswith("vega-lite/v5.json")
    assert client.get("/api/v1/reports", headers=bearer(world.keys["agency"])).status_code == 403
    text = client.get("/api/v1/reports.csv", headers=officer).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["reference"] == "all" and rows[-1]["disclosures.total"] == "3"
    r = client.get(f"/api/v1/agreements/{uuid.uuid4()}/report", headers=officer)
    assert r.status_code == 404


runner = CliRunner()


@pytest.fixture
def cli_db(monkeypatch, session, world):  # type: ignore[no-untyped-def]
    from shareguard.storage import db

    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())


def test_report_command_formats(cli_db, world) -> None:  # type: ignore[no-untyped-def]
    from shareguard.cli import app

    story = play(world)
    world.session.rollback()
    from shareguard.agreements.models import Agreement

    ref = world.session.get(Agreement, story.agreements["council"]).reference
    world.session.rollback()
    out = runner.invoke(app, ["report", "--agreement", ref, "--format", "json", "--charts"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["reference"] == ref and data["matching"]["overturned"] == 1
    assert "charts" in data
    out = runner.invoke(app, ["report", "--format", "csv"])
    assert out.exit_code == 0 and out.stdout.startswith("agreement_id,")
    out = runner.invoke(app, ["report"])
    assert out.exit_code == 0 and "Error rate" in out.stdout
    out = runner.invoke(app, ["report", "--format", "xml"])
    assert out.exit_code == 2 and "format" in out.output

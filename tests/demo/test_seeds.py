"""The seed-scale year at a size a test affords: built stage by stage, interrupted, resumed.

The same builder as ``shareguard demo --scale seeds``; what a user would notice afterwards is
the DVLA report (disclosures halved by the over-30 pause, reviewed adverse actions with
overturned ones among them), checks answered, notices sent, and a log that verifies.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from shareguard.agreements.models import Agreement
from shareguard.audit.service import AuditService
from shareguard.checks.models import Case
from shareguard.config import get_settings
from shareguard.demo.seeds.build import build, done_stages, stage_names
from shareguard.demo.seeds.plan import Plan
from shareguard.matching.models import Candidate, MatchRun
from shareguard.policy.models import Disclosure
from shareguard.reports.service import ReportService
from shareguard.storage.db import session_factory

PLAN = Plan.small(
    pool=400,
    stock=330,
    population=150,
    licence_rows=1_500,
    share_code_checks=240,
    hmrc_actions=6,
    wrong_over_30=0.3,
    wrong_under_30=0.2,
    dvla_action_rate=0.15,
    contest_rate=0.3,
)


class Interrupted(Exception):
    pass


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _disclosures(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(Disclosure)) or 0


def test_the_year_builds_resumes_after_an_interruption_and_its_report_adds_up(
    engine: Engine, data_dir
):
    folder = data_dir / "seeds"
    names = list(stage_names(PLAN))
    first = build(PLAN, folder, engine, stop_after=6)
    # foundation, register, licence files; the first month's list, DVLA run and reviews
    assert first.done == names[:6]
    before = _disclosures(engine)
    assert before > 0  # the first DVLA run disclosed

    # Interrupted midway through a stage: the stage's unit of work is rolled back whole.
    victim = names[6]
    assert victim.endswith("share-code checks")

    def interrupt(stage: str, done: int, _total: int | None) -> None:
        if stage == victim and done > 0:
            raise Interrupted

    with pytest.raises(Interrupted):
        build(PLAN, folder, engine, progress=interrupt)
    with session_factory(engine)() as s:
        assert done_stages(s, PLAN.seed) == set(names[1:6]) | {"foundation"}
    assert _disclosures(engine) == before

    resumed = build(PLAN, folder, engine)
    assert resumed.skipped == names[1:6]
    assert resumed.done == ["foundation", *names[6:]]
    again = build(PLAN, folder, engine)
    assert again.done == ["foundation"] and again.skipped == names[1:]

    with session_factory(engine)() as s:
        dvla = s.scalar(select(Agreement).where(Agreement.reference == "HO-DVLA-001"))
        report = ReportService(s).section(dvla)
        matching, pause = report["matching"], report["pause_effect"]
        assert report["disclosures"]["total"] == s.scalar(
            select(func.count()).select_from(Disclosure).where(Disclosure.agreement_id == dvla.id)
        )
        assert report["disclosures"]["total"] > 200
        assert matching["adverse_actions"] >= 20 and matching["overturned"] > 0
        assert matching["overturned"] < matching["adverse_actions"]
        assert pause["after"] < pause["before"]
        _runs_linked_for_real(s, dvla.id, pause["paused_at"])
        assert report["corrections"]["notices"] > 0 and report["corrections"]["acknowledged"] > 0
        overall = ReportService(s).section(None)
        assert overall["checks"]["total"] >= 240  # share codes and the NHS's checks
        assert overall["checks"]["contested"] > 0
        closed = select(func.count()).select_from(Case).where(Case.state == "closed")
        assert s.scalar(closed.where(Case.kind == "contest")) > 0  # answered by caseworkers
        assert s.scalar(closed.where(Case.kind == "referral")) > 0
        _the_door_faces_both_ways(s)
        verified = AuditService(s, get_settings()).verify()
        assert verified.ok, verified.problems
        assert verified.entries > report["disclosures"]["total"]


def _runs_linked_for_real(s, agreement_id, paused_at: str) -> None:
    """Each run linked its part of the list against the month's licence file with Splink:
    its own scored pairs and trained model on disk, the list gated first (from the pause on,
    the over-30s kept out before linking), and no run over the agreement's per-run limit."""
    runs = s.scalars(select(MatchRun).where(MatchRun.agreement_id == agreement_id)).all()
    assert len(runs) >= 12  # a month's runs at least monthly
    pause = datetime.fromisoformat(paused_at)
    for run in runs:
        assert run.state == "succeeded" and run.counts["watchlist"] > 0
        assert run.counts["partner_rows"] > run.counts["candidates"] > 0
        assert run.counts["disclosed"] <= 5_000 and run.counts["refused"] == 0
        folder = Path(run.out_dir)
        assert (folder / "matches.parquet").exists() and (folder / "model.json").exists()
        assert (run.counts["kept_out"] > 0) == (run.created_at >= pause)
    scored = s.scalars(
        select(Candidate).join(MatchRun).where(MatchRun.agreement_id == agreement_id).limit(50)
    ).all()
    assert all(0.5 <= c.match_probability <= 1 and c.explanation for c in scored)


def _exchange(s, ref: str) -> dict:
    agreement = s.scalar(select(Agreement).where(Agreement.reference == ref))
    return ReportService(s).section(agreement)["exchange"]


def _the_door_faces_both_ways(s) -> None:
    """The year's inbound flows, as the reports show them."""
    debts = _exchange(s, "NHS-HO-001")["inbound"]
    assert debts["accepted"] == debts["submissions"] >= 365  # a report a day or more
    employer = _exchange(s, "HMRC-HO-001")["inbound"]
    assert employer["files"] == 12 and employer["accepted"] > 0 and employer["quarantined"] > 0
    dwp = _exchange(s, "DWP-HO-001")["requests"]
    assert dwp["answered"] > 0 and dwp["not_held"] >= 0 and dwp["refused"] == 0
    assert dwp["response_time"]["median_hours"] > 0
    traced = _exchange(s, "NHS-HO-002")["requests"]
    assert traced["total"] == traced["refused_by_firewall"] == 24 and traced["permitted"] == 0
    police = _exchange(s, "POL-HO-001")["inbound"]
    assert police["refused_by_firewall"] == 24 and police["accepted"] == 0


def test_the_command_builds_a_small_year_then_goes_on_where_it_stopped(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from shareguard.cli import app
    from shareguard.storage.db import get_engine

    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SHAREGUARD_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    runner = CliRunner()
    try:
        wrong = runner.invoke(app, ["demo", "--scale", "huge", "--no-serve"])
        assert wrong.exit_code == 2 and "--scale must be default or seeds" in wrong.output
        args = ["demo", "--scale", "seeds", "--fraction", "0.001", "--no-serve"]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        assert "104 stage(s) run, 0 already done" in " ".join(first.output.split())
        again = runner.invoke(app, args)
        assert "1 stage(s) run, 103 already done" in " ".join(again.output.split())
        shown = runner.invoke(app, ["report", "--agreement", "HO-DVLA-001", "--format", "json"])
        assert shown.exit_code == 0, shown.output
        report = json.loads(shown.output)
        assert report["disclosures"]["total"] > 20 and report["matching"]["adverse_actions"] > 0
        assert report["matching"]["runs"] >= 12  # linked month by month
        shown = runner.invoke(app, ["report", "--format", "json"])
        exchange = json.loads(shown.output)["exchange"]
        assert exchange["requests"]["answered"] > 0 and exchange["inbound"]["accepted"] > 0
        assert exchange["requests"]["refused_by_firewall"] > 0
        verified = runner.invoke(app, ["audit", "verify", "--json"])
        assert verified.exit_code == 0 and json.loads(verified.output)["ok"]
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()

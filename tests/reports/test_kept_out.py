"""People a pause keeps out at a match run's gate show in the report, apart from requests the
door refused, and reconcile with the runs' audit entries (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from shareguard.audit.models import AuditEntry
from shareguard.matching import ImportService, RunOptions, RunService, WatchlistService
from shareguard.matching.engine import PAIR_COLUMNS
from shareguard.reports import rows
from shareguard.reports.present import table_rows
from shareguard.reports.service import ReportService
from shareguard.status import StatusService
from shareguard.status.schemas import DecisionIn
from shareguard.storage.base import today, utcnow
from tests import factories
from tests.factories import TestWorld, bearer
from tests.matching.test_gate_bulk import _listed
from tests.web.console_helpers import sign_in

pytestmark = pytest.mark.usefixtures("data_dir")


def _run(world: TestWorld, agreement_id: uuid.UUID, tmp_path: Path, match: uuid.UUID) -> Any:
    """A run through its stages (as ``matching.tasks.execute`` does them), its linkage
    standing in for Splink: one match, for ``match``'s person."""
    s = world.session
    name = f"licences-{uuid.uuid4().hex[:6]}.csv"
    (tmp_path / name).write_text(
        "record_id,first_name,surname,date_of_birth,postcode\nL1,Anna,Bulkgate,1990-01-01,AB1 1AA\n"
    )
    dataset = ImportService(s).import_dataset(
        tmp_path / name,
        [
            "record_id=record_id",
            "first_name=first_name",
            "surname=surname",
            "date_of_birth=date_of_birth",
            "postcode=postcode",
        ],
        agreement_id,
        world.principals["agency"],
    )
    runs = RunService(s)
    run = runs.start_run(
        agreement_id,
        dataset.id,
        world.principals["officer"],
        RunOptions(out_dir=tmp_path / "var" / name),
    )
    runs.begin(run.id)
    inputs = runs.prepare(run.id)
    person = WatchlistService(s).get(match).person_id
    pairs = pd.DataFrame(
        [[str(person), "L1", 0.99, 12.0, "match", json.dumps([{"comparison": "prior"}])]],
        columns=list(PAIR_COLUMNS),
    )
    done = runs.record(run.id, inputs, pairs)
    s.commit()  # the run's record is its own unit of work
    return done


def test_people_a_pause_keeps_out_at_the_gate_are_counted_and_reconcile(
    world: TestWorld, tmp_path: Path, client: Any
) -> None:
    s, officer = world.session, world.principals["officer"]
    agreement_id = world.agreement(bulk=True)
    young = _listed(world, agreement_id, 4, today() - timedelta(days=25 * 365))
    old = _listed(world, agreement_id, 6, today() - timedelta(days=50 * 365))
    # Before any pause, the whole list is linked.
    first = _run(world, agreement_id, tmp_path, young[0])
    assert first.counts["kept_out"] == 0 and first.counts["kept_out_by_policy"] == {}

    # One of the young lodges an appeal: kept out, but not by a pause.
    appealing = WatchlistService(s).get(young[1]).person_id
    StatusService(s).record_decision(
        appealing,
        DecisionIn(
            type="refusal",
            decided_on=today() - timedelta(days=3),
            appeal_state="lodged",
            appeal_window_end=today() + timedelta(days=11),
            source="caseworking",
            evidence_ref="A",
        ),
        world.principals["caseworker"],
    )
    factories.pause(world, agreements=[str(agreement_id)], actions=["bulk_disclosure"], by=officer)
    second = _run(world, agreement_id, tmp_path, young[0])
    third = _run(world, agreement_id, tmp_path, young[2])
    for run in (second, third):
        assert run.counts["watchlist"] == 3
        assert run.counts["kept_out"] == 7
        assert run.counts["kept_out_by_policy"] == {"pause": 6}
        assert run.counts["kept_out_by_reason"] == {"appeal_open": 1, "policy_refused": 6}
    kept = json.loads((Path(third.out_dir) / "kept_out.json").read_text())
    assert {k["entry_id"] for k in kept if k["policy"] == "pause"} == {str(e) for e in old}

    report = ReportService(s).report(officer, agreement_id=agreement_id)
    m, pause = report["matching"], report["pause_effect"]
    assert (m["runs"], m["kept_out"], m["kept_out_by_policy"]) == (3, 14, {"pause": 12})
    # Kept out before linking, so never refused at the door: the two are counted apart.
    assert pause["kept_out_by_pause"] == 12 and pause["blocked_by_pause"] == 0
    assert report["refusals"]["total"] == 0 and report["disclosures"]["total"] == 3
    shown = dict(table_rows(report))
    assert shown["Kept out of match runs by pauses"] == "12"
    assert shown["Requests refused by pauses"] == "0"

    # The same figures from the audit log: each run's finishing entry carries its counts.
    finished = [
        e.details
        for e in s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "matching.run_finish", AuditEntry.agreement_id == agreement_id
            )
        )
    ]
    assert len(finished) == m["runs"]
    assert m["kept_out"] == sum(d["kept_out"] for d in finished)
    by_policy: Counter[str] = Counter()
    for d in finished:
        by_policy.update(d["kept_out_by_policy"])
    assert m["kept_out_by_policy"] == dict(by_policy)

    # Counted in SQL, as counting every run in Python does; overall as per agreement.
    expected = rows.figures(s, agreement_id, limit_per_day=1000, now=utcnow())
    assert (report["matching"], report["pause_effect"]) == (
        expected["matching"],
        expected["pause_effect"],
    )
    overall = ReportService(s).report(officer)
    assert overall["pause_effect"]["kept_out_by_pause"] == 12
    assert overall["matching"]["kept_out"] == 14

    # The API and the console's report page show it too.
    s.rollback()
    r = client.get(
        f"/api/v1/agreements/{agreement_id}/report", headers=bearer(world.keys["officer"])
    )
    assert r.status_code == 200 and r.json()["pause_effect"]["kept_out_by_pause"] == 12
    sign_in(client, "officer")
    page = client.get(f"/governance/reports/{report['reference']}")
    assert page.status_code == 200
    assert re.search(r"Kept out of match runs by pauses</th><td[^>]*>12</td>", page.text)
    assert re.search(r"Requests refused by pauses</th><td[^>]*>0</td>", page.text)


def test_report_command_shows_people_kept_out_by_pauses(
    world: TestWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shareguard.agreements.models import Agreement
    from shareguard.cli import app, load
    from shareguard.storage import db

    s = world.session
    agreement_id = world.agreement(bulk=True)
    young = _listed(world, agreement_id, 2, today() - timedelta(days=25 * 365))
    _listed(world, agreement_id, 3, today() - timedelta(days=50 * 365))
    factories.pause(world, agreements=[str(agreement_id)], actions=["bulk_disclosure"])
    _run(world, agreement_id, tmp_path, young[0])
    ref = s.get(Agreement, agreement_id).reference
    s.rollback()
    load("report")
    monkeypatch.setattr(db, "get_engine", lambda: s.get_bind())
    runner = CliRunner()
    out = runner.invoke(app, ["report", "--agreement", ref, "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["pause_effect"]["kept_out_by_pause"] == 3
    assert data["pause_effect"]["blocked_by_pause"] == 0
    out = runner.invoke(app, ["report", "--agreement", ref])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.stdout.splitlines() if "Kept out of match runs by pauses" in x)
    assert [c for c in line.split() if c.strip("│┃|")][-1] == "3"

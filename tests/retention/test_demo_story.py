"""`shareguard demo` tells one retention run: old right-to-rent checks pseudonymised, one held."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from shareguard.audit.models import AuditEntry
from shareguard.cli import app
from shareguard.config import get_settings
from shareguard.retention.models import Erasure
from shareguard.storage.db import get_engine, unit_of_work

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SHAREGUARD_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield tmp_path
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def _json(args: list[str]) -> object:
    got = runner.invoke(app, args)
    assert got.exit_code == 0, got.output
    return json.loads(got.output)


def test_the_demo_runs_retention_and_the_log_still_verifies(data_dir) -> None:  # type: ignore[no-untyped-def]
    first = runner.invoke(app, ["demo", "--no-serve", "--persons", "60"])
    assert first.exit_code == 0, first.output
    assert "Retention: 2 right-to-rent check records" in first.output
    report = _json(["retention", "report", "--agreement", "HO-LL-001", "--json"])
    assert isinstance(report, dict)
    (agreement,) = report["agreements"]
    assert agreement["rules"] == {"check": "P1Y after check"}
    assert [(e["kind"], e["records"]) for e in agreement["erased"]] == [("check", 2)]
    assert report["runs"][0]["held"] == {"HO-LL-001": {"check": 1}}
    holds = _json(["retention", "holds", "--json"])
    assert isinstance(holds, list) and len(holds) == 1
    verified = _json(["audit", "verify", "--json"])
    assert isinstance(verified, dict) and verified["ok"]
    # An erased check's person sees when, and under which rule, the details went.
    with unit_of_work() as session:
        entry_id = session.scalar(
            select(Erasure.audit_entry_id).where(Erasure.kind == "check").limit(1)
        )
        person = session.scalar(select(AuditEntry.subject_ref).where(AuditEntry.id == entry_id))
    items = _json(["audit", "who-checked", str(person), "--json"])
    assert isinstance(items, list)
    deleted = [i["deleted"] for i in items if i["deleted"]]
    assert deleted and deleted[0].endswith("under the retention rule of HO-LL-001")

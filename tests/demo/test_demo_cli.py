"""`shareguard demo`: seeds a whole world on SQLite, is idempotent, and the log verifies."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.config import get_settings
from shareguard.storage.db import get_engine

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SHAREGUARD_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield tmp_path
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def _agreements() -> dict[str, str]:
    out = runner.invoke(app, ["agreements", "list", "--json"])
    assert out.exit_code == 0, out.output
    return {a["reference"]: a["state"] for a in json.loads(out.output)["items"]}


def test_demo_seeds_every_state_idempotently_and_its_log_verifies(data_dir):
    first = runner.invoke(app, ["demo", "--no-serve", "--persons", "300"])
    assert first.exit_code == 0, first.output
    assert (data_dir / "shareguard.db").exists()
    assert "officer@ho.demo.example" in first.output
    assert "sg_demodvla" in first.output  # a partner's API key is printed
    states = _agreements()
    assert set(states.values()) == {"draft", "active", "paused", "ended"}
    assert len(states) >= 10

    again = runner.invoke(app, ["demo", "--no-serve", "--persons", "300"])
    assert again.exit_code == 0, again.output
    assert _agreements() == states  # nothing doubled
    verified = runner.invoke(app, ["audit", "verify", "--json"])
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.output)
    assert report["checkpoints"] >= 1 and report["entries"] > 0


def test_demo_shows_the_door_facing_both_ways(data_dir):
    first = runner.invoke(app, ["demo", "--no-serve", "--persons", "300"])
    assert first.exit_code == 0, first.output
    out = runner.invoke(app, ["agreements", "list", "--json"])
    items = {a["reference"]: a for a in json.loads(out.output)["items"]}
    for ref in ("NHS-HO-001", "NHS-HO-002", "HMRC-HO-001", "DWP-HO-001", "POL-HO-001"):
        assert items[ref]["direction"] == "inbound" and items[ref]["recipients"] == ["Home Office"]
    assert items["HO-DVLA-001"]["direction"] == "outbound"

    def report(ref: str) -> dict:
        got = runner.invoke(app, ["report", "--agreement", ref, "--format", "json"])
        assert got.exit_code == 0, got.output
        return json.loads(got.output)

    nhs = report("NHS-HO-002")
    assert nhs["refusals"]["by_kind"]["firewall"] >= 1
    assert nhs["exchange"]["requests"]["refused_by_firewall"] >= 1
    assert nhs["disclosures"]["total"] == 0  # no data disclosed
    assert report("NHS-HO-001")["exchange"]["inbound"]["accepted"] >= 1
    hmrc = report("HMRC-HO-001")["exchange"]["inbound"]
    assert hmrc["accepted"] >= 1 and hmrc["quarantined"] >= 1
    dwp = report("DWP-HO-001")["exchange"]["requests"]
    assert dwp["answered"] >= 1 and dwp["not_held"] >= 1
    assert report("POL-HO-001")["exchange"]["inbound"]["refused_by_firewall"] >= 1

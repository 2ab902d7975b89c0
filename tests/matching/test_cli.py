"""`shareguard match ...`: a bad file exits 2 naming lines and columns; a run writes outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shareguard.agreements.models import Agreement
from shareguard.cli import app
from shareguard.matching.models import PartnerDataset
from shareguard.storage import db
from tests.factories import TestWorld
from tests.matching.test_runs import Scenario

pytestmark = pytest.mark.usefixtures("data_dir")

runner = CliRunner()


@pytest.fixture
def cli_db(monkeypatch, session, world):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())


def test_bad_file_exits_2_with_line_and_column_and_imports_nothing(
    cli_db,
    world: TestWorld,
    session,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    ref = session.get(Agreement, world.agreement(bulk=True)).reference
    session.rollback()
    bad = tmp_path / "p.csv"
    bad.write_text(
        "record_id,first_name,surname,date_of_birth,postcode\n"
        "A1,Ann,Lee,1980-02-30,\n"
        "A2,Bo,Ng,1981-01-01,\n"
    )
    result = runner.invoke(app, ["match", "import", str(bad), "--agreement", ref])
    assert result.exit_code == 2
    assert "line 2, date_of_birth: not a date in the declared format" in result.output
    assert session.scalar(select(func.count()).select_from(PartnerDataset)) == 0


def test_match_run_writes_outputs(cli_db, world: TestWorld, session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sc = Scenario(world, tmp_path)
    ref = session.get(Agreement, sc.agreement_id).reference
    session.rollback()  # end the read: SQLite's BEGIN IMMEDIATE would hold the write lock
    out = tmp_path / "var" / "exports" / "out"  # inside the data directory
    result = runner.invoke(
        app,
        [
            "match",
            "run",
            "--agreement",
            ref,
            "--watchlist",
            "current",
            "--partner",
            str(sc.partner_file),
            "--out",
            str(out),
            "--threshold",
            "0.9",
            "--json",
        ],
        env={"SHAREGUARD_USER": ""},
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["state"] == "succeeded" and summary["disclosed"] > 0
    matches = pd.read_parquet(out / "matches.parquet")
    assert str(sc.appellant) not in set(matches["watchlist_id"])
    assert (out / "matches.csv").exists() and (out / "model.json").exists()


@pytest.mark.parametrize("where", ["outside", "dotdot", "not-empty"])
def test_match_run_out_stays_inside_the_data_directory_and_overwrites_nothing(
    cli_db, world: TestWorld, session, tmp_path: Path, where: str
) -> None:  # type: ignore[no-untyped-def]
    sc = Scenario(world, tmp_path)
    ref = session.get(Agreement, sc.agreement_id).reference
    session.rollback()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "matches.csv").write_text("precious\n")
    out = {
        "outside": str(victim),
        "dotdot": "../../../victim",
        "not-empty": str(tmp_path / "var"),
    }[where]
    result = runner.invoke(
        app,
        ["match", "run", "--agreement", ref, "--partner", str(sc.partner_file), "--out", out],
        env={"SHAREGUARD_USER": ""},
    )
    assert result.exit_code == 2, result.output
    assert "output directory" in result.output and "Traceback" not in result.output
    assert (victim / "matches.csv").read_text() == "precious\n"


def test_match_run_scores_with_an_earlier_runs_model_when_asked(
    cli_db, world: TestWorld, session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sc = Scenario(world, tmp_path)
    ref = session.get(Agreement, sc.agreement_id).reference
    session.rollback()

    def run(*extra: str) -> object:
        return runner.invoke(
            app,
            ["match", "run", "--agreement", ref, "--partner", str(sc.partner_file), *extra],
            env={"SHAREGUARD_USER": ""},
        )

    def summary(result: object) -> dict:  # type: ignore[type-arg]
        output = result.output  # type: ignore[attr-defined]
        assert result.exit_code == 0, output  # type: ignore[attr-defined]
        return json.loads(output[output.index("{") :])  # type: ignore[no-any-return]

    trained = summary(run("--json"))
    assert trained["model_from"] is None
    reused = summary(run("--model-from", trained["run_id"], "--json"))
    assert reused["model_from"] == trained["run_id"]
    assert reused["disclosed"] == trained["disclosed"] > 0
    status = runner.invoke(app, ["match", "status", reused["run_id"], "--json"])
    assert json.loads(status.output[status.output.index("{") :])["model_from"] == trained["run_id"]

    result = run("--model-from", "not-a-run")
    assert result.exit_code == 2 and "--model-from is a match run id" in result.output

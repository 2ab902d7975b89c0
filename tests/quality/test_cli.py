"""`shareguard quality ...`"""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.storage import db
from tests import factories

runner = CliRunner()


@pytest.fixture
def cli_db(monkeypatch, session, world):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())


def test_run_list_resolve(cli_db, world) -> None:  # type: ignore[no-untyped-def]
    factories.person(world, "A", "B", date(1850, 1, 1))
    out = runner.invoke(app, ["quality", "run", "--rule", "nope"])
    assert out.exit_code == 2 and "unknown rule" in out.output
    out = runner.invoke(app, ["quality", "run", "--rule", "implausible_dates", "--scheduled"])
    assert out.exit_code == 0 and "1 new finding" in out.output
    out = runner.invoke(app, ["quality", "findings", "--json"])
    [finding] = __import__("json").loads(out.stdout)
    assert finding["rule"] == "implausible_dates"
    out = runner.invoke(app, ["quality", "resolve", finding["id"], "--resolution", "fixed"])
    assert out.exit_code == 0 and "resolved" in out.output

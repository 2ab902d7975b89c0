"""`shareguard quality ...`"""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.status import StatusService
from shareguard.status.schemas import NameIn, PersonIn
from shareguard.storage import db

runner = CliRunner()


@pytest.fixture
def cli_db(monkeypatch, session, world):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())


def test_run_list_resolve(cli_db, world) -> None:  # type: ignore[no-untyped-def]
    StatusService(world.session).create_person(
        PersonIn(names=[NameIn(given="A", family="B")], date_of_birth=date(1850, 1, 1)),
        world.principals["caseworker"],
    )
    world.session.rollback()
    out = runner.invoke(app, ["quality", "run", "--rule", "nope"])
    assert out.exit_code == 2 and "unknown rule" in out.output
    out = runner.invoke(app, ["quality", "run", "--rule", "implausible_dates", "--scheduled"])
    assert out.exit_code == 0 and "1 new finding" in out.output
    out = runner.invoke(app, ["quality", "findings", "--json"])
    [finding] = __import__("json").loads(out.stdout)
    assert finding["rule"] == "implausible_dates"
    out = runner.invoke(app, ["quality", "resolve", finding["id"], "--resolution", "fixed"])
    assert out.exit_code == 0 and "resolved" in out.output

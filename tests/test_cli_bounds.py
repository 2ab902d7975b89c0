"""The CLI refuses hostile numbers and dates with exit 2 and a message, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.storage import db

runner = CliRunner()
HUGE = str(2**63)


@pytest.fixture
def cli_db(monkeypatch, session, world):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "proof", "--entry", HUGE],
        ["audit", "proof", "--old", HUGE],
        ["persons", "list", "--offset", HUGE],
        ["agreements", "list", "--offset", HUGE],
        ["check", "attributes", "--family", "Nobody", "--dob", "0001-01-01", "--purpose", "x"],
        ["check", "share-code", "ABC123DEF", "--dob", "9999-12-31", "--purpose", "right_to_work"],
        ["persons", "create", "--family", "Nobody", "--dob", "0001-01-01"],
    ],
)
def test_hostile_numbers_and_dates_exit_2(cli_db, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

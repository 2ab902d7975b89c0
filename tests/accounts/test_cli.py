"""`shareguard accounts ...`: options naming an agreement take its reference or its id."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

from shareguard.agreements.models import Agreement
from shareguard.cli import app
from shareguard.storage import db
from tests.factories import TestWorld

runner = CliRunner()


@pytest.fixture
def cli_db(monkeypatch, session, world):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())


def test_issue_key_takes_an_agreement_reference(cli_db, world: TestWorld, session) -> None:  # type: ignore[no-untyped-def]
    agreement = session.get(Agreement, world.agreement())
    reference, agreement_id = agreement.reference, str(agreement.id)
    session.rollback()
    for given in (reference, agreement_id):
        result = runner.invoke(
            app,
            [
                "accounts",
                "issue-key",
                "--organisation",
                "Test Agency",
                "--name",
                f"scoped by {given[:8]}",
                "--agreement",
                given,
                "--json",
            ],
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["agreement_ids"] == [agreement_id]


@pytest.mark.parametrize("given", ["HO-NOPE-999", str(uuid.uuid4())])
def test_an_unknown_agreement_exits_2_without_a_traceback(cli_db, given: str) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        app,
        [
            "accounts",
            "issue-key",
            "--organisation",
            "Test Agency",
            "--name",
            "x",
            "--agreement",
            given,
        ],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "agreement" in result.output

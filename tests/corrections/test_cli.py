"""`shareguard corrections ...`: clear errors, exit 2 on bad input, nothing written."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.corrections.models import Correction
from shareguard.storage import db
from tests.corrections.scenario import build

runner = CliRunner()


@pytest.fixture
def cli_db(monkeypatch, session, world):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())


def test_correct_from_the_command_line(cli_db, world) -> None:  # type: ignore[no-untyped-def]
    story = build(world)
    status_id = str(story.status.id)
    world.session.rollback()
    out = runner.invoke(
        app, ["corrections", "create", status_id, "--evidence", "E1", "--set", 'kind="settled"']
    )
    assert out.exit_code == 2 and "reason" in out.output
    out = runner.invoke(
        app,
        [
            "corrections",
            "create",
            status_id,
            "--reason",
            "keyed in error",
            "--evidence",
            "E1",
            "--set",
            "no_equals_sign",
        ],
    )
    assert out.exit_code == 2 and "--set" in out.output
    assert world.session.scalar(select(func.count()).select_from(Correction)) == 0
    world.session.rollback()
    out = runner.invoke(
        app,
        [
            "corrections",
            "create",
            status_id,
            "--reason",
            "keyed in error",
            "--evidence",
            "E1",
            "--set",
            'kind="settled"',
            "--set",
            "may_work=true",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    created = json.loads(out.stdout)
    # the council acted on this record: a second caseworker must approve
    assert created["state"] == "pending_approval"
    out = runner.invoke(
        app, ["corrections", "approve", created["id"], "--as", "caseworker2@test.example", "--json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["notices"] == 3
    out = runner.invoke(app, ["corrections", "notices", "--json"])
    assert len(json.loads(out.stdout)) == 3
    out = runner.invoke(app, ["corrections", "escalate"])
    assert out.exit_code == 0 and "0 notice(s) escalated" in out.output

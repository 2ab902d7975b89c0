"""The agreements CLI: YAML in, clear errors out, nothing written on bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.config import get_settings
from shareguard.storage import db

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path, monkeypatch, sqlite_engine, session, world):
    """Point the CLI at the test database (SQLite backend)."""
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())
    yield


GOOD = """\
reference: CLI-001
title: CLI agreement
purposes: [driving_licence]
data_items: [name, date_of_birth]
parties:
  - organisation: Test Department
    role: discloser
  - organisation: Test Agency
    role: recipient
"""


def _count(session):
    from shareguard.agreements.service import AgreementService

    return AgreementService(session).find()[1]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (GOOD.replace("[driving_licence]", "[driving_licence, telepathy]"), 3, "purposes.1"),
        (GOOD.replace("    role: recipient", "    role: spectator"), 9, "parties.1.role"),
        (
            GOOD.replace("title: CLI agreement\n", "title: CLI agreement\n  bad: [\n"),
            3,
            "not valid YAML",
        ),
        (GOOD + "limit_per_day: -5\n", 10, "limit_per_day"),
    ],
)
def test_bad_yaml_exits_2_naming_file_line_and_field_and_writes_nothing(
    cli_db, tmp_path, session, text, line, needle
):
    f = tmp_path / "agreement.yaml"
    f.write_text(text)
    result = runner.invoke(
        app, ["agreements", "create", "--file", str(f), "--as", "officer@test.example"]
    )
    assert result.exit_code == 2, result.output
    assert f"{f}:{line}:" in result.output.replace("\n", "")
    assert needle in result.output.replace("\n", "")
    assert _count(session) == 0


def test_create_show_activate_and_export_json(cli_db, tmp_path, session):
    f = tmp_path / "agreement.yaml"
    f.write_text(GOOD)
    created = runner.invoke(
        app, ["agreements", "create", "-f", str(f), "--as", "officer@test.example", "--json"]
    )
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["state"] == "draft"
    refused = runner.invoke(
        app, ["agreements", "activate", "CLI-001", "--as", "officer2@test.example"]
    )
    assert refused.exit_code == 2
    assert "missing" in refused.output and "legal gateway (statute)" in refused.output
    shown = runner.invoke(app, ["agreements", "show", "CLI-001", "--json"])
    assert json.loads(shown.output)["reference"] == "CLI-001"
    listed = runner.invoke(app, ["agreements", "list", "--json"])
    assert json.loads(listed.output)["total"] == 1
    export = runner.invoke(app, ["agreements", "export", "--format", "json"])
    assert json.loads(export.output)["agreements"] == []  # drafts are never published
    assert get_settings() is not None


def test_an_alias_bomb_exits_2_without_a_traceback(cli_db, tmp_path, session):
    from tests.test_yamlfile import ALIAS_BOMB

    f = tmp_path / "bomb.yaml"
    f.write_text(ALIAS_BOMB)
    result = runner.invoke(
        app, ["agreements", "create", "--file", str(f), "--as", "officer@test.example"]
    )
    assert result.exit_code == 2 and "aliases" in result.output
    assert "Traceback" not in result.output and _count(session) == 0

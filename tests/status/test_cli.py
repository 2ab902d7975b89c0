"""`shareguard persons` and `shareguard check`: a caseworker records, a partner checks."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.storage import db

runner = CliRunner()
RTW_ITEMS = ["name", "photo_ref", "may_work", "work_conditions", "valid_until"]


@pytest.fixture
def cli_db(monkeypatch, session, world):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())
    world.agreement(purposes=["right_to_work"], data_items=RTW_ITEMS)
    session.commit()
    return world


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_record_and_check_from_the_command_line(cli_db) -> None:  # type: ignore[no-untyped-def]
    cw = "caseworker@test.example"
    code, out = run(
        "persons",
        "create",
        "--given",
        "Amara",
        "--family",
        "Okonkwo",
        "--dob",
        "1990-04-12",
        "--nationality",
        "nga",
        "--as",
        cw,
        "--json",
    )
    assert code == 0, out
    pid = json.loads(out)["id"]
    code, out = run(
        "persons",
        "status",
        pid,
        "--kind",
        "limited_leave",
        "--valid-from",
        "2024-01-01",
        "--valid-to",
        "2099-01-01",
        "--no-work",
        "--as",
        cw,
    )
    assert code == 0, out
    code, out = run(
        "persons", "share-code", pid, "--purpose", "right_to_work", "--as", cw, "--json"
    )
    assert code == 0, out
    share = json.loads(out)["code"]
    code, out = run(
        "check",
        "share-code",
        share,
        "--dob",
        "1990-04-12",
        "--purpose",
        "right_to_work",
        "--as",
        "agency_user@test.example",
        "--json",
    )
    assert code == 0, out
    body = json.loads(out)
    assert body["outcome"] == "not_confirmed" and body["answer"]["may_work"] == "no"
    code, out = run("persons", "show", pid)
    assert code == 0 and "limited_leave" in out


@pytest.mark.parametrize(
    "args",
    [
        ("persons", "create", "--family", "Okonkwo", "--dob", "1990-02-30"),
        ("persons", "create", "--family", "X" * 101, "--dob", "1990-01-30"),
        (
            "check",
            "share-code",
            "NOT-A-CODE",
            "--dob",
            "1990-01-01",
            "--purpose",
            "right_to_work",
            "--as",
            "agency_user@test.example",
        ),
        (
            "check",
            "share-code",
            "ACEFGHJKM",
            "--dob",
            "1990-01-01",
            "--purpose",
            "astrology",
            "--as",
            "agency_user@test.example",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_field(cli_db, args) -> None:  # type: ignore[no-untyped-def]
    code, out = (
        run(*args, "--as", "caseworker@test.example") if args[0] == "persons" else run(*args)
    )
    assert code == 2, out
    assert "error" in out

"""The policy's HTTP routes and CLI commands, as partners, officers and auditors use them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from shareguard.accounts.service import AccountService
from shareguard.agreements.service import AgreementService
from shareguard.cli import app as cli_app
from shareguard.policy.models import Pause
from shareguard.storage import db
from tests.factories import TestWorld, bearer

API = "/api/v1"
runner = CliRunner()


def test_paused_agreement_key_refused_with_problem_json(
    client: TestClient, world: TestWorld, session: Session
) -> None:
    dl = world.agreement(reference="T-API-DL")
    nhs = world.agreement(
        reference="T-API-NHS", purposes=["nhs_charging"], data_items=["name", "valid_until"]
    )
    _, token = AccountService(session).issue_key(
        world.orgs["agency"], "scoped", agreement_ids=[dl, nhs]
    )
    session.commit()  # the test is the boundary: services never commit
    ask = {
        "organisation": "Test Agency",
        "purpose": "driving_licence",
        "check_method": "share_code",
    }
    ok = client.post(f"{API}/policy/decisions", json=ask, headers=bearer(token))
    assert ok.status_code == 200 and ok.json()["allowed"] is True

    AgreementService(session).transition(dl, "pause", world.principals["officer"], "incident")
    session.commit()
    refused = client.post(f"{API}/policy/decisions", json=ask, headers=bearer(token))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["detail"] == "Refused: agreement T-API-DL is paused"
    assert body["kind"] == "agreement_state"
    other = client.post(
        f"{API}/policy/decisions", json={**ask, "purpose": "nhs_charging"}, headers=bearer(token)
    )
    assert other.status_code == 200 and other.json()["allowed"] is True
    # A partner may not try another organisation's requests.
    foreign = client.post(
        f"{API}/policy/decisions", json={**ask, "organisation": "Test Bank"}, headers=bearer(token)
    )
    assert foreign.status_code == 403


def test_officer_tries_a_firewalled_request(
    client: TestClient, world: TestWorld, session: Session
) -> None:
    world.agreement(
        reference="T-API-ENF",
        purposes=["immigration_enforcement"],
        data_items=["name", "nationality", "school_census"],
        bulk=True,
    )
    body = {
        "organisation": "Test Agency",
        "action": "bulk_disclosure",
        "agreement": "T-API-ENF",
        "purpose": "immigration_enforcement",
    }
    r = client.post(f"{API}/policy/decisions", json=body, headers=bearer(world.keys["officer"]))
    assert r.status_code == 200
    assert r.json()["kind"] == "firewall"
    assert "Pupil data" in r.json()["reason"]
    assert r.json()["policies"] == ["firewall:pupil-data"]


def test_cedar_text_for_officers_and_auditors_only(client: TestClient, world: TestWorld) -> None:
    world.agreement(reference="T-API-CED")
    r = client.get(
        f"{API}/policy/cedar",
        params={"agreement": "T-API-CED"},
        headers=bearer(world.keys["auditor"]),
    )
    assert r.status_code == 200
    assert "permit" in r.json()["cedar"] and "forbid" in r.json()["cedar"]
    assert '"driving_licence"' in r.json()["cedar"]
    assert (
        client.get(f"{API}/policy/cedar", headers=bearer(world.keys["agency"])).status_code == 403
    )


def test_firewall_change_through_the_api(client: TestClient, world: TestWorld) -> None:
    proposal = {
        "operation": "update",
        "key": "health-care",
        "rule": {
            "title": "Health-care records are never used for immigration enforcement",
            "categories": ["patient"],
            "data_items": ["health_record", "address"],
        },
        "reason": "addresses given at hospital are health-care data",
    }
    made = client.post(
        f"{API}/firewall-changes", json=proposal, headers=bearer(world.keys["officer"])
    )
    assert made.status_code == 201, made.text
    change = made.json()["id"]
    same = client.post(
        f"{API}/firewall-changes/{change}/approve", headers=bearer(world.keys["officer"])
    )
    assert same.status_code == 403
    done = client.post(
        f"{API}/firewall-changes/{change}/approve", headers=bearer(world.keys["officer2"])
    )
    assert done.status_code == 200 and done.json()["status"] == "approved"
    rules = client.get(f"{API}/firewall-rules", headers=bearer(world.keys["agency"])).json()
    health = next(r for r in rules if r["key"] == "health-care")
    assert health["data_items"] == ["health_record", "address"] and health["version"] == 2


def test_pause_with_end_before_start_is_a_clear_422(
    client: TestClient, world: TestWorld, session: Session
) -> None:
    body = {
        "title": "Pause that ends first",
        "reason": "test",
        "starts_at": "2026-03-01T00:00:00Z",
        "ends_at": "2026-02-01T00:00:00Z",
    }
    r = client.post(f"{API}/pauses", json=body, headers=bearer(world.keys["officer"]))
    assert r.status_code == 422
    assert r.json()["field"] == "ends_at" and "ends before it starts" in r.json()["detail"]
    assert session.scalar(select(func.count()).select_from(Pause)) == 0
    session.rollback()  # SQLite: a reading transaction here would hold the write lock
    made = client.post(
        f"{API}/pauses", json={**body, "ends_at": None}, headers=bearer(world.keys["officer"])
    )
    assert made.status_code == 201
    assert (
        client.post(f"{API}/pauses", json=body, headers=bearer(world.keys["agency"])).status_code
        == 403
    )


# -- CLI -----------------------------------------------------------------------------------
@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, session: Session, world: TestWorld) -> None:
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())


def test_policy_test_command(cli_db: None, world: TestWorld, tmp_path: Path) -> None:
    world.agreement(reference="T-CLI-DL")
    f = tmp_path / "request.yaml"
    f.write_text(
        "organisation: Test Agency\npurpose: driving_licence\naction: bulk_disclosure\n"
        "agreement: T-CLI-DL\nsubject:\n  date_of_birth: 1950-01-01\n"
    )
    r = runner.invoke(cli_app, ["policy", "test", "--request", str(f), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["allowed"] is False and "does not allow bulk disclosure" in out["reason"]
    f.write_text("organisation: Test Agency\npurpose: driving_licence\n")
    r = runner.invoke(cli_app, ["policy", "test", "--request", str(f)])
    assert r.exit_code == 0 and "ALLOWED" in r.output and "T-CLI-DL" in r.output
    f.write_text("organisation: Test Agency\npurpose: telepathy\n")
    r = runner.invoke(cli_app, ["policy", "test", "--request", str(f)])
    assert r.exit_code == 2 and "purpose" in r.output


def test_policy_show_and_pauses_cli(
    cli_db: None, world: TestWorld, tmp_path: Path, session: Session
) -> None:
    world.agreement(reference="T-CLI-SHOW")
    r = runner.invoke(cli_app, ["policy", "show", "--agreement", "T-CLI-SHOW"])
    assert r.exit_code == 0 and "permit" in r.output and "firewall:pupil-data" in r.output
    exported = tmp_path / "policies.cedar"
    r = runner.invoke(cli_app, ["policy", "show", "--output", str(exported)])
    assert r.exit_code == 0
    from shareguard.policy import cedar

    assert cedar.validate(exported.read_text()) == []  # the export is valid Cedar
    f = tmp_path / "pause.yaml"
    f.write_text(
        "title: Pause on proactive sharing\nreason: review\nagreements: [T-CLI-SHOW]\n"
        "starts_at: 2026-03-01T00:00:00Z\nends_at: 2026-02-01T00:00:00Z\n"
    )
    r = runner.invoke(cli_app, ["pauses", "create", "--file", str(f)])
    assert r.exit_code == 2 and "ends before it starts" in r.output
    f.write_text(
        "title: Pause on proactive sharing\nreason: review\nagreements: [T-CLI-SHOW]\n"
        "age_over: 30\n"
    )
    r = runner.invoke(cli_app, ["pauses", "create", "--file", str(f)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["pauses", "list", "--json"])
    assert json.loads(r.output)[0]["age_over"] == 30
    r = runner.invoke(cli_app, ["firewall", "list"])
    assert r.exit_code == 0 and "pupil-data" in r.output


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "operation: create\nkey: new-rule\nrule:\n  title: A new rule here\n"
            "  data_items: [shoe_size]\nreason: test\n",
            "data_items.0: unknown data item; known:",
        ),
        ("operation: create\nkey: new-rule\nrule: [\nreason: test\n", "not valid YAML"),
        ("operation: create\nkey: new-rule\nreason: test\n", "needs the rule's fields"),
        ("operation: demolish\nkey: new-rule\nreason: test\n", "operation"),
    ],
)
def test_bad_firewall_proposal_file_exits_2_and_writes_nothing(
    cli_db: None, tmp_path: Path, session: Session, text: str, needle: str
) -> None:
    f = tmp_path / "rule.yaml"
    f.write_text(text)
    r = runner.invoke(cli_app, ["firewall", "propose", "--file", str(f)])
    assert r.exit_code == 2, r.output
    assert needle in r.output.replace("\n", " ")
    r = runner.invoke(cli_app, ["firewall", "changes", "--json"])
    assert json.loads(r.output) == []

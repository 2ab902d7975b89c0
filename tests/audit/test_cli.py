"""`shareguard audit ...`: verify exits 1 naming the place; proofs check out with only the key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from shareguard.audit import AuditEntry, AuditRecord, append_many
from shareguard.cli import app
from shareguard.config import get_settings
from shareguard.storage import db

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: Session) -> Iterator[Path]:
    """Point the CLI at the test database and a fresh key directory."""
    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHAREGUARD_MODE", "test")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _entries(
    session: Session, n: int, subject: str | None = None, org: uuid.UUID | None = None
) -> None:
    append_many(
        session,
        [
            AuditRecord(
                action="check.share_code",
                subject_ref=subject,
                actor_org_id=org,
                purpose="right_to_work",
                decision="permit",
                details={"i": i},
            )
            for i in range(n)
        ],
    )
    session.commit()


def test_verify_passes_then_fails_naming_the_edited_entry(cli_db: Path, session: Session) -> None:
    _entries(session, 12)
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "12 entries, 1 checkpoints verified" in ok.output
    session.execute(text("UPDATE audit_entries SET purpose = 'other' WHERE seq = 9"))
    session.commit()
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "entry #9" in bad.output
    out = json.loads(runner.invoke(app, ["audit", "verify", "--json"]).stdout)
    assert out["ok"] is False and out["problems"][0]["seq"] == 9


def test_an_outside_auditor_checks_a_proof_with_only_the_public_key(
    cli_db: Path, session: Session
) -> None:
    _entries(session, 9)
    vkey = runner.invoke(app, ["audit", "public-key"]).stdout.strip()
    (cli_db / "key.txt").write_text(vkey + "\n")
    bundle = cli_db / "proof.json"
    # No checkpoint yet: `proof` signs one on demand.
    assert runner.invoke(app, ["audit", "proof", "--entry", "4", "-o", str(bundle)]).exit_code == 0
    ok = runner.invoke(
        app, ["audit", "verify-proof", str(bundle), "--public-key", str(cli_db / "key.txt")]
    )
    assert ok.exit_code == 0, ok.output
    assert "entry #4 is included" in ok.output
    data = json.loads(bundle.read_text())
    data["entry"]["decision"] = "deny"  # the auditor is shown a doctored entry
    bundle.write_text(json.dumps(data))
    bad = runner.invoke(app, ["audit", "verify-proof", str(bundle), "--public-key", vkey])
    assert bad.exit_code == 1 and "not in the signed tree" in bad.output

    _entries(session, 3)
    runner.invoke(app, ["audit", "checkpoint"])
    consistency = runner.invoke(app, ["audit", "proof", "--old", "9"])
    assert consistency.exit_code == 0
    (cli_db / "c.json").write_text(consistency.stdout)
    ok = runner.invoke(app, ["audit", "verify-proof", str(cli_db / "c.json"), "--public-key", vkey])
    assert ok.exit_code == 0 and "extends size 9" in ok.output


def test_verify_proof_refuses_a_file_that_is_not_json(cli_db: Path) -> None:
    f = cli_db / "x.json"
    f.write_text("{not json")
    r = runner.invoke(app, ["audit", "verify-proof", str(f), "--public-key", "a+00000000+AAAA"])
    assert r.exit_code == 2 and "not JSON" in r.output


def test_who_checked_and_tail(cli_db: Path, session: Session, world) -> None:
    person = uuid.uuid4()
    base = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    _entries(session, 2, subject=str(person), org=world.orgs["bank"])
    r = runner.invoke(app, ["audit", "who-checked", str(person), "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [(x["organisation"], x["purpose"], x["outcome"]) for x in rows] == [
        ("Test Bank", "right_to_work", "permit")
    ] * 2
    assert runner.invoke(app, ["audit", "who-checked", "not-a-uuid"]).exit_code == 2
    r = runner.invoke(app, ["audit", "tail", "--limit", "1", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["seq"] == base + 1

"""Backup and restore: taken while checks run, restored into a fresh database on each backend,
verified, and proved a prefix of the live log by a checkpoint signed after the backup."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from typer.testing import CliRunner

from shareguard.audit import merkle
from shareguard.audit.integrator import catch_up
from shareguard.audit.log import StoredTree
from shareguard.audit.models import AuditEntry
from shareguard.audit.proofs import verify_bundle
from shareguard.audit.service import AuditService
from shareguard.audit.signing import KEY_FILE, Signer, Verifier, open_checkpoint
from shareguard.audit.verify import verify_log
from shareguard.checks import CheckService
from shareguard.checks.models import Check
from shareguard.cli import app
from shareguard.config import Settings, get_settings
from shareguard.operations import backup
from shareguard.operations.backup import PG_FILE, SQLITE_FILE, BackupRefused, RestoreUnverified
from shareguard.storage import db
from shareguard.storage.db import make_engine, unit_of_work
from shareguard.web.app import create_app
from tests import factories
from tests.conftest import PG_URL
from tests.operations.test_metrics import _value

runner = CliRunner()
RTW_ITEMS = ["name", "photo_ref", "may_work", "work_conditions", "valid_until"]
DOB = date(1988, 3, 9)
GIVEN, FAMILY, PASSPORT = "Aleksandr", "Petrov", "P7431902"
PASSPHRASE = "correct horse battery staple"


def _settings(data_dir: Path) -> Settings:
    return Settings(mode="test", data_dir=data_dir, secret_key="k" * 32, integrator=False)


@pytest.fixture
def fresh(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A new, empty database on the same backend as ``engine``."""
    if engine.dialect.name == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'restored' / 'shareguard.db'}")
        yield eng
        eng.dispose()
        return
    name = f"shareguard_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _checker(world):  # type: ignore[no-untyped-def]
    """A right-to-work agreement, a person with leave and share codes for them."""
    world.agreement(purposes=["right_to_work"], data_items=RTW_ITEMS)
    p = factories.person(
        world, GIVEN, FAMILY, DOB, documents=(PASSPORT,), nationality="RUS", commit=False
    )
    factories.status_record(world, p.id, "limited_leave", commit=False)
    world.session.commit()
    codes = [factories.share_code(world, p.id, days=90, commit=False)[1] for _ in range(3)]
    world.session.commit()
    return codes


def _is_empty(engine: Engine) -> bool:
    try:
        backup._require_empty(engine)
    except BackupRefused:
        return False
    return True


def test_a_backup_taken_while_checks_run_restores_verifies_and_prefixes_the_live_log(
    world, engine, settings, fresh, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    codes = _checker(world)
    agency = world.principals["agency"]
    stop = threading.Event()
    errors: list[BaseException] = []
    done_at: list[float] = []

    def work(code: str) -> None:
        try:
            for _ in range(150):  # bounded: the agreement's daily limit is 1,000
                if stop.is_set():
                    return
                with unit_of_work(engine) as s:
                    CheckService(s).share_code_check(agency, code, DOB, "right_to_work")
                done_at.append(time.monotonic())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in codes]
    for t in threads:
        t.start()
    while len(done_at) < 6 and not errors:
        time.sleep(0.01)
    began = time.monotonic()
    made = backup.create(tmp_path / "backup", engine, settings)
    ended = time.monotonic()
    after = len(done_at)
    while len(done_at) < after + 6 and not errors and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    # The checks went on while the backup was taken: it held no lock they needed.
    assert any(began < at < ended for at in done_at)

    restored = backup.restore(made.directory, fresh, _settings(tmp_path / "restored"))
    audit = made.manifest["audit"]
    assert restored.report.ok
    assert restored.report.entries == audit["log_size"] > 0
    assert restored.checkpoint_size == audit["checkpoint"]["tree_size"]

    verifier = Verifier.parse(audit["verifier_key"])
    with unit_of_work(fresh) as s:
        # The copy is one instant: every check in it has its audit entry (one door).
        ids = list(s.scalars(select(Check.audit_entry_id)))
        assert ids and None not in ids
        found = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.id.in_(ids)))
        assert found == len(ids)
        # `audit verify` passes on the restored database, its pending entries integrated.
        assert catch_up(s) == 0
        assert verify_log(s, verifier).ok
        size = restored.report.entries
        restored_root = StoredTree(s).root(size)
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.seq >= size)))
        assert "backup.restore" in actions

    # A checkpoint the live log signs after the backup proves the restored log its prefix.
    with unit_of_work(engine) as s:
        live = AuditService(s, settings)
        later = live.checkpoint()
        assert later.tree_size > size
        bundle = live.consistency(audit["checkpoint"]["tree_size"], later.tree_size)
        proof = StoredTree(s).consistency_proof(size, later.tree_size)
        backup_entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "backup.create"))
        assert backup_entry is not None
        assert backup_entry.details["backup_id"] == made.manifest["id"]
    assert "extends size" in verify_bundle(bundle, verifier)
    later_root = open_checkpoint(verifier, later.note).root_hash
    assert merkle.verify_consistency(size, later.tree_size, restored_root, later_root, proof)
    assert not merkle.verify_consistency(
        size, later.tree_size, merkle.leaf_hash(b"another log"), later_root, proof
    )


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SHAREGUARD_MODE", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _point_cli(monkeypatch: pytest.MonkeyPatch, engine: Engine, data_dir: Path) -> None:
    monkeypatch.setattr(db, "get_engine", lambda: engine)
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(data_dir))
    get_settings.cache_clear()


def test_restore_refuses_a_database_that_is_not_empty(
    world, engine, tmp_path, monkeypatch, cli_env
) -> None:  # type: ignore[no-untyped-def]
    _checker(world)
    _point_cli(monkeypatch, engine, tmp_path)
    made = runner.invoke(app, ["backup", "create", str(tmp_path / "b")])
    assert made.exit_code == 0, made.output
    with unit_of_work(engine) as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    r = runner.invoke(app, ["backup", "restore", str(tmp_path / "b")])
    assert r.exit_code == 2
    assert "not empty" in r.output
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
    # A second backup into the same directory is refused too: backups are never overwritten.
    again = runner.invoke(app, ["backup", "create", str(tmp_path / "b")])
    assert again.exit_code == 2 and "not empty" in again.output


def test_a_changed_backup_file_is_refused_and_nothing_is_restored(
    world, engine, fresh, tmp_path, monkeypatch, cli_env
) -> None:  # type: ignore[no-untyped-def]
    _checker(world)
    made = backup.create(tmp_path / "b", engine, _settings(tmp_path))
    name = SQLITE_FILE if engine.dialect.name == "sqlite" else PG_FILE
    data = bytearray((made.directory / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (made.directory / name).write_bytes(bytes(data))
    _point_cli(monkeypatch, fresh, tmp_path / "restored")
    r = runner.invoke(app, ["backup", "restore", str(made.directory)])
    assert r.exit_code == 2
    assert f"{name} does not match its checksum" in r.output
    assert _is_empty(fresh)
    (made.directory / "manifest.json").unlink()
    r = runner.invoke(app, ["backup", "restore", str(made.directory)])
    assert r.exit_code == 2 and "no manifest.json" in r.output


# SQLite only: it edits the SQLite copy in place (on PostgreSQL the backup is a pg_dump archive;
# the undo of a failed PostgreSQL restore is shown by the wrong-key test).
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_copy_edited_with_its_checksum_fixed_fails_verification_and_is_undone(
    world, engine, fresh, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _checker(world)
    made = backup.create(tmp_path / "b", engine, _settings(tmp_path))
    copy = made.directory / SQLITE_FILE
    conn = sqlite3.connect(copy)
    conn.execute("UPDATE audit_entries SET purpose = 'other' WHERE seq = 1")
    conn.commit()
    conn.close()
    manifest = json.loads((made.directory / "manifest.json").read_text())
    manifest["files"][SQLITE_FILE]["sha256"] = backup._sha256(copy)
    (made.directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RestoreUnverified, match="entry #1"):
        backup.restore(made.directory, fresh, _settings(tmp_path / "restored"))
    assert _is_empty(fresh)


def test_private_keys_leave_only_encrypted_and_come_back_with_the_passphrase(
    world, engine, fresh, tmp_path, monkeypatch, cli_env
) -> None:  # type: ignore[no-untyped-def]
    _checker(world)
    live_dir, restored_dir = tmp_path / "live", tmp_path / "restored"
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    _point_cli(monkeypatch, engine, live_dir)
    short = tmp_path / "short"
    short.write_text("too short\n")
    r = runner.invoke(
        app,
        ["backup", "create", str(tmp_path / "b0"), "--include-private-keys",
         "--passphrase-file", str(short)],
    )  # fmt: skip
    assert r.exit_code == 2 and "at least 12 characters" in r.output
    assert not (tmp_path / "b0").exists()
    r = runner.invoke(
        app,
        ["backup", "create", str(tmp_path / "b"), "--include-private-keys",
         "--passphrase-file", str(secret), "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["private_keys"] is True
    live_key = (live_dir / "keys" / KEY_FILE).read_text()
    for path in (tmp_path / "b").rglob("*"):
        if path.is_file():
            body = path.read_bytes()
            assert b"PRIVATE+KEY" not in body and b"BEGIN PRIVATE KEY" not in body, path
    assert (
        b"BEGIN ENCRYPTED PRIVATE KEY"
        in (tmp_path / "b/keys/private/audit-ed25519.pem").read_bytes()
    )

    _point_cli(monkeypatch, fresh, restored_dir)
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    r = runner.invoke(
        app,
        ["backup", "restore", str(tmp_path / "b"), "--with-private-keys",
         "--passphrase-file", str(wrong)],
    )  # fmt: skip
    assert r.exit_code == 2 and "passphrase does not open" in r.output
    assert _is_empty(fresh) and not (restored_dir / "keys" / KEY_FILE).exists()
    r = runner.invoke(
        app,
        ["backup", "restore", str(tmp_path / "b"), "--with-private-keys",
         "--passphrase-file", str(secret)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "keys restored: audit-ed25519.key" in r.output
    restored_key = (restored_dir / "keys" / KEY_FILE).read_text()
    assert Signer.decode(restored_key).verifier == Signer.decode(live_key).verifier
    assert (restored_dir / "keys" / KEY_FILE).stat().st_mode & 0o777 == 0o600
    # With its key back, the restored installation passes `audit verify` with no options.
    v = runner.invoke(app, ["audit", "verify"])
    assert v.exit_code == 0, v.output


def test_backup_and_restore_say_nothing_personal(
    world, engine, fresh, tmp_path, monkeypatch, cli_env, caplog
) -> None:  # type: ignore[no-untyped-def]
    _checker(world)
    outputs = []
    _point_cli(monkeypatch, engine, tmp_path / "live")
    for args in (
        ["backup", "create", str(tmp_path / "b")],
        ["backup", "create", str(tmp_path / "c"), "--json"],
    ):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
        outputs.append(r.output)
    _point_cli(monkeypatch, fresh, tmp_path / "restored")
    r = runner.invoke(app, ["backup", "restore", str(tmp_path / "b"), "--json"])
    assert r.exit_code == 0, r.output
    outputs.append(r.output)
    assert json.loads(r.stdout)["verified"] is True
    refused = runner.invoke(app, ["backup", "restore", str(tmp_path / "c")])
    assert refused.exit_code == 2
    outputs.append(refused.output)
    outputs.append((tmp_path / "b" / "manifest.json").read_text())
    outputs.append(caplog.text)
    said = "\n".join(outputs)
    for personal in (GIVEN, FAMILY, PASSPORT, DOB.isoformat(), "09/03/1988"):
        assert personal not in said


@pytest.mark.postgres
def test_postgres_backup_without_pg_dump_on_path_is_refused_clearly(
    pg_engine, tmp_path, monkeypatch, cli_env
) -> None:  # type: ignore[no-untyped-def]
    _point_cli(monkeypatch, pg_engine, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    r = runner.invoke(app, ["backup", "create", str(tmp_path / "b")])
    assert r.exit_code == 2
    assert "pg_dump is not on PATH" in r.output
    assert not (tmp_path / "b").exists()


def test_a_restore_checked_against_another_key_is_undone(world, engine, fresh, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _checker(world)
    made = backup.create(tmp_path / "b", engine, _settings(tmp_path))
    stranger = Signer.decode(
        Signer("shareguard.example/audit", Ed25519PrivateKey.generate()).encode()
    ).verifier
    with pytest.raises(RestoreUnverified, match="forged or altered"):
        backup.restore(made.directory, fresh, _settings(tmp_path / "restored"), verifier=stranger)
    assert _is_empty(fresh)
    # The same backup checked against its own key restores into the database left empty.
    assert backup.restore(made.directory, fresh, _settings(tmp_path / "restored")).report.ok


def test_metrics_say_how_old_the_newest_backup_is(world, engine, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings, engine)) as client:
        assert _value(client.get("/metrics").text, "shareguard_backup_age_seconds") == -1
        backup.create(tmp_path / "b", engine, settings)
        age = _value(client.get("/metrics").text, "shareguard_backup_age_seconds")
    assert 0 <= age < 60

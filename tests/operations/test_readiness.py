"""/readyz: ready on a migrated database with its key; not ready, saying why, otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from shareguard.audit import AuditRecord, append
from shareguard.audit.service import AuditService
from shareguard.audit.signing import KEY_FILE, Signer
from shareguard.config import Settings
from shareguard.storage.base import replay_clock, utcnow
from shareguard.storage.db import make_engine, unit_of_work
from shareguard.storage.migrate import upgrade
from shareguard.web.app import create_app


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'ready.db'}", synchronous="NORMAL")
    upgrade(engine)
    yield engine
    engine.dispose()


def _settings(tmp_path: Path) -> Settings:
    # No integrator here: the test decides when entries are integrated.
    return Settings(mode="test", data_dir=tmp_path, secret_key="k" * 32, integrator=False)


def test_healthz_stays_cheap_and_readyz_checks_everything(migrated, tmp_path) -> None:
    settings = _settings(tmp_path)
    with TestClient(create_app(settings, migrated)) as c:
        assert c.get("/healthz").json()["status"] == "ok"
        got = c.get("/readyz")
        assert got.status_code == 200, got.text
        assert got.json()["checks"] == {
            "database": "ok",
            "migrations": "ok",
            "integrator": "ok",
            "checkpoint": "ok",
            "signing_key": "ok",
        }


def test_an_unmigrated_database_is_not_ready(engine, tmp_path) -> None:
    # The test fixtures make their schema with create_all: no migration is recorded.
    with TestClient(create_app(_settings(tmp_path), engine)) as c:
        got = c.get("/readyz")
    assert got.status_code == 503
    assert "shareguard db upgrade" in got.json()["checks"]["migrations"]


def test_a_stuck_integrator_and_a_foreign_key_are_not_ready(migrated, tmp_path) -> None:
    settings = _settings(tmp_path)
    with unit_of_work(migrated) as s:
        append(s, AuditRecord(action="test.first"))
    with unit_of_work(migrated) as s:
        AuditService(s, settings).checkpoint()
    with replay_clock(utcnow() - timedelta(minutes=10)), unit_of_work(migrated) as s:
        append(s, AuditRecord(action="test.waiting"))
    with TestClient(create_app(settings, migrated)) as c:
        got = c.get("/readyz")
        assert got.status_code == 503
        assert "1 audit entries waiting" in got.json()["checks"]["integrator"]
        # A restore that brought the database back without its signing key's pair.
        other = Signer(settings.log_origin, Ed25519PrivateKey.generate())
        (settings.key_dir / KEY_FILE).write_text(other.encode())
        key = c.get("/readyz").json()["checks"]["signing_key"]
        assert key == "the signing key is not the key that signed the log's checkpoints"

"""The migration creates exactly the schema the models describe, on both backends."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

from shareguard.storage.db import make_engine
from shareguard.storage.migrate import pending_changes, upgrade
from tests.conftest import PG_URL, _pg_available, need


def test_sqlite_migration_matches_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)
    assert pending_changes(engine) == [], "run `make schema` to regenerate the migration"
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_postgres_migration_matches_models():
    problem = _pg_available()
    need(problem is None, problem or "")
    name = f"shareguard_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = make_engine(PG_URL.rsplit("/", 1)[0] + f"/{name}")
        upgrade(engine)
        assert pending_changes(engine) == []
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

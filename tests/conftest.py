"""Fixtures: one database per backend per test session, emptied after every test.

Database tests run on SQLite and on PostgreSQL. PostgreSQL is at $SHAREGUARD_TEST_PG_URL
(default: postgres@127.0.0.1:5432/test); where it is absent those runs skip with a reason,
except under CI=true, where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from shareguard.accounts import service as accounts_service
from shareguard.config import Settings, get_settings
from shareguard.storage.db import make_engine, session_factory
from shareguard.storage.models import Base

# Cheap password hashing in tests only: argon2's production cost would dominate the suite.
accounts_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_URL = os.environ.get(
    "SHAREGUARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, reason: str) -> None:
    """Skip with ``reason`` when a test's external need is missing; under CI, fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_URL.split('@')[-1]} ({type(exc).__name__})"


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("db") / "test.db"
    engine = make_engine(f"sqlite:///{path}", synchronous="NORMAL")
    Base.metadata.create_all(engine)  # migrations are tested on their own (tests/storage)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    problem = _pg_available()
    need(problem is None, problem or "")
    name = f"shareguard_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty(engine: Engine) -> None:
    # DELETE in reverse dependency order: ~100x faster than TRUNCATE of every table on
    # PostgreSQL when, as here, each test leaves only a few rows.
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":
            for (name,) in conn.execute(
                text("SELECT sequence_name FROM information_schema.sequences")
            ):
                conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The database engine; every test that takes it runs on SQLite and PostgreSQL."""
    eng: Engine = request.getfixturevalue(
        "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    )
    yield eng
    _empty(eng)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    s = session_factory(engine)()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        mode="test",
        data_dir=tmp_path,
        secret_key="test-secret-key-0123456789",
        # The person's one-time codes go to an in-memory outbox (test mode shows none on screen).
        person_code_sender="shareguard.signin.delivery:Outbox",
    )


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``SHAREGUARD_DATA_DIR`` pointed at a fresh folder (match runs write their files there).

    A module whose every test needs it: ``pytestmark = pytest.mark.usefixtures("data_dir")``.
    """
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()


@pytest.fixture
def app(settings: Settings, engine: Engine):  # type: ignore[no-untyped-def]
    from shareguard.web.app import create_app

    return create_app(settings, engine)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def world(session: Session):  # type: ignore[no-untyped-def]
    """A small world of organisations, users and agreements (see tests/factories.py)."""
    from tests.factories import build_world

    return build_world(session)


@pytest.fixture
def xw(session: Session):  # type: ignore[no-untyped-def]
    """``world`` plus an NHS trust, a person and inbound agreements (tests/factories.py)."""
    from tests.factories import build_exchange_world

    return build_exchange_world(session)


def chromium_path() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )

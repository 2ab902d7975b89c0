"""Alembic, driven from code so `shareguard db upgrade` needs no alembic.ini."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from shareguard.storage.db import make_engine
from shareguard.storage.models import Base

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the models (developers: `make migration m=...`)."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)


def pending_changes(engine: Engine) -> list[object]:
    """Differences between the models and the migrated schema (empty when in step)."""

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def regenerate_initial() -> None:
    """Rewrite the single pre-1.0 migration ``0001`` from the models.

    Until the first release there is one migration, regenerated whenever models change
    (`make schema`); after it, migrations are added, never rewritten.
    """

    for old in (MIGRATIONS / "versions").glob("*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        eng = make_engine(f"sqlite:///{tmp}/gen.db")
        with eng.begin() as conn:
            cfg = alembic_config(eng)
            cfg.attributes["connection"] = conn
            command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")


if __name__ == "__main__":  # python -m shareguard.storage.migrate
    regenerate_initial()

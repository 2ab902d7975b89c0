"""``/readyz``: may this process take traffic? The database, its schema, the log, the key.

Each check answers ok or a plain reason (never personal data). ``/healthz`` stays cheap and
says only that the process runs; a load balancer routes on this instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from shareguard.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from shareguard.audit.signing import KEY_FILE, Signer
from shareguard.config import Settings
from shareguard.storage.base import utcnow
from shareguard.storage.migrate import MIGRATIONS


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(v == "ok" for v in self.checks.values())


@lru_cache
def schema_head() -> str:
    """The migration the code expects (read once from the scripts)."""

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    return head or ""


def readiness(engine: Engine, settings: Settings) -> Readiness:
    out = Readiness()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            out.checks["database"] = "ok"
            try:
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except SQLAlchemyError:
                version = None
                conn.rollback()
            head = schema_head()
            out.checks["migrations"] = (
                "ok"
                if version == head
                else f"database at {version or 'no migration'}, code expects {head}: "
                "run `shareguard db upgrade`"
            )
            now = utcnow()
            pending, oldest = conn.execute(
                select(func.count(), func.min(AuditEntry.at)).where(AuditEntry.seq.is_(None))
            ).one()
            lag = _age(now, oldest) if oldest is not None else 0.0
            out.checks["integrator"] = (
                "ok"
                if lag <= settings.ready_integration_lag
                else f"{pending} audit entries waiting, the oldest for {lag:.0f} s"
            )
            size = conn.execute(select(AuditHead.size)).scalar() or 0
            latest = conn.execute(
                select(
                    AuditCheckpoint.tree_size, AuditCheckpoint.created_at, AuditCheckpoint.key_id
                )
                .order_by(AuditCheckpoint.tree_size.desc())
                .limit(1)
            ).first()
            conn.rollback()
    except SQLAlchemyError as exc:
        out.checks["database"] = f"unreachable ({type(exc).__name__})"
        return out
    out.checks["checkpoint"] = _checkpoint(settings, now, size, latest)
    out.checks["signing_key"] = _key(settings, latest[2] if latest else None)
    return out


def _checkpoint(settings: Settings, now: datetime, size: int, latest: Any) -> str:
    if settings.checkpoint_interval <= 0 or size == 0:
        return "ok"
    if latest is None:
        return "the log has entries and no signed checkpoint"
    tree_size: int = latest[0]
    created_at: datetime = latest[1]
    age = _age(now, created_at)
    allowed = 2 * settings.checkpoint_interval + settings.ready_integration_lag
    if tree_size < size and age > allowed:
        return f"the newest checkpoint is {age:.0f} s old and the log has grown since"
    return "ok"


def _key(settings: Settings, checkpoint_key: str | None) -> str:
    path = settings.key_dir / KEY_FILE
    if not path.exists():
        # Made at the first checkpoint; missing once checkpoints exist means a lost key.
        return "ok" if checkpoint_key is None else "the signing key is missing"
    try:
        signer = Signer.decode(path.read_text())
    except (OSError, ValueError):
        return "the signing key cannot be read"
    if checkpoint_key is not None and signer.verifier.key_id.hex() != checkpoint_key:
        return "the signing key is not the key that signed the log's checkpoints"
    return "ok"


def _age(now: datetime, then: datetime) -> float:
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())

"""Declarative base, id and time helpers shared by every capability's models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

import uuid6
from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> uuid.UUID:
    """UUIDv7: time-ordered, so ids sort by creation and index well."""
    return uuid.UUID(str(uuid6.uuid7()))


#: A replayed moment, set only while the seed-scale demo replays a year of history
#: (``replay_clock``); None everywhere else, so ``utcnow`` is the real time.
_replayed: ContextVar[datetime | None] = ContextVar("shareguard_replayed_now", default=None)


def utcnow() -> datetime:
    """Now, in UTC: the real time, or the replayed moment inside ``replay_clock``."""
    replayed = _replayed.get()
    return datetime.now(UTC) if replayed is None else replayed


@contextmanager
def replay_clock(at: datetime) -> Iterator[None]:
    """Make ``utcnow`` and ``today`` return ``at`` within the block (this thread only).

    For the seed-scale demo, which replays a year through the real services so that every
    record, decision and audit entry carries the time it happened in the story. Nothing
    outside the demo (and its tests) sets it.
    """
    if at.tzinfo is None:
        raise ValueError("replay_clock needs a timezone-aware time")
    token = _replayed.set(at.astimezone(UTC))
    try:
        yield
    finally:
        _replayed.reset(token)


def today() -> date:
    return utcnow().date()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_UUID_NEW = object.__new__
_UUID_SET = object.__setattr__
_UUID_UNKNOWN = uuid.SafeUUID.unknown


def _uuid_of_hex(value: str | None) -> uuid.UUID | None:
    """``uuid.UUID(value)`` for the 32 hex digits SQLite stores, at a third of the cost.

    ``uuid.UUID`` parses its text in Python (prefixes, braces, dashes, checks); a run reads
    hundreds of thousands of ids, and that parsing was a tenth of reading its watch list.
    Any other text goes through ``uuid.UUID`` itself, with its checks.
    """
    if value is None:
        return None
    if len(value) != 32 or not value.isalnum():
        return uuid.UUID(value)
    got = _UUID_NEW(uuid.UUID)
    _UUID_SET(got, "int", int(value, 16))
    _UUID_SET(got, "is_safe", _UUID_UNKNOWN)
    return got


class FastUuid(Uuid[uuid.UUID]):
    """``Uuid`` whose text-stored values (SQLite) are read by ``_uuid_of_hex``. PostgreSQL's
    native uuid is adapted to its own type by the dialect, as before."""

    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        process = super().result_processor(dialect, coltype)
        if process is None or not self.as_uuid:
            return process
        return _uuid_of_hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime(),
        uuid.UUID: FastUuid(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class CreatedMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

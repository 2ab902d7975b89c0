"""Bulk inserts of many rows at once, for generated data (the seed-scale demo, scale tests).

Each value is converted once, by its column's type, to what the driver stores, and the rows
go to the database in the fastest way each backend has: the driver's ``executemany`` on
SQLite, ``COPY ... FROM STDIN`` on PostgreSQL. Several times faster than SQLAlchemy's
per-row bind processing, which is what makes a million rows a matter of seconds. Rows are
written in the caller's transaction; nothing is committed here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Table, Uuid
from sqlalchemy.orm import Session

from shareguard.storage.base import UTCDateTime

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _json(value: Any) -> Any:
    return None if value is None else json.dumps(value)


def _sqlite_uuid(value: Any) -> Any:
    return None if value is None else (value if isinstance(value, str) else value.hex)


def _sqlite_time(value: Any) -> Any:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _sqlite_bool(value: Any) -> Any:
    return None if value is None else int(value)


def _converter(column: Any, dialect: str) -> Convert:
    kind = column.type
    if isinstance(kind, JSON):
        return _json
    if dialect != "sqlite":
        return _same  # psycopg adapts UUIDs, times, dates and booleans itself
    if isinstance(kind, Uuid):
        return _sqlite_uuid
    if isinstance(kind, UTCDateTime):
        return _sqlite_time
    if isinstance(kind, Date):
        return _sqlite_date
    if isinstance(kind, Boolean):
        return _sqlite_bool
    return _same


class Values:
    """Driver-ready values for one dialect, for callers that build rows already converted
    (``insert_rows(..., prepared=True)``): converting each id once, not once per row it is in."""

    def __init__(self, dialect: str) -> None:
        sqlite = dialect == "sqlite"
        self.uuid: Convert = _sqlite_uuid if sqlite else _pg_text
        self.time: Convert = _sqlite_time if sqlite else _pg_text
        self.date: Convert = _sqlite_date if sqlite else _pg_text
        self.json: Convert = _json
        self.bool: Convert = _sqlite_bool if sqlite else _same


def _pg_text(value: Any) -> Any:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def insert_rows(
    session: Session,
    table: Table | Any,
    rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
    columns: Sequence[str] | None = None,
    *,
    prepared: bool = False,
) -> int:
    """Insert ``rows`` (dicts, or tuples in ``columns`` order) into ``table``; returns how many.

    ``table`` is a Table or a mapped class. Values are Python values (UUIDs, aware datetimes,
    dates, dicts/lists for JSON columns), or with ``prepared`` already what ``Values`` gives
    for the session's dialect; columns left out take no Python-side default.
    """
    table = getattr(table, "__table__", table)
    given: list[Any] = list(rows)
    if not given:
        return 0
    if columns is None:
        if not isinstance(given[0], Mapping):
            raise ValueError("give the column names for rows that are tuples")
        columns = list(given[0])
        values: list[tuple[Any, ...]] = [tuple(r[c] for c in columns) for r in given]
    else:
        values = [tuple(r) for r in given]
    conn = session.connection()
    dialect = conn.dialect.name
    converters = [_same if prepared else _converter(table.c[c], dialect) for c in columns]
    if any(f is not _same for f in converters):
        values = [tuple(f(v) for f, v in zip(converters, row, strict=True)) for row in values]
    names = ", ".join(columns)
    if dialect == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            # COPY's text format built here, a block at a time: psycopg's write_row adapts
            # each value through its type registry, several times slower at this volume.
            for i in range(0, len(values), 10_000):
                copy.write(
                    "".join(
                        "\t".join(map(_copy_text, row)) + "\n" for row in values[i : i + 10_000]
                    ).encode()
                )
    else:
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)
    return len(values)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One value in PostgreSQL COPY text format."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        return (
            value.translate(_COPY_ESCAPES)
            if "\\" in value or "\t" in value or "\n" in value or "\r" in value
            else value
        )
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime or kind is date:
        return value.isoformat()
    if kind is bytes:
        return "\\\\x" + value.hex()
    return str(value)


def sqlite_value(value: Any) -> Any:
    """One value as SQLite stores it (for callers building driver rows themselves)."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return _sqlite_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value

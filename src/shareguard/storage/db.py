"""Engine and session factory. SQLite gets WAL, foreign keys and a documented sync level."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from shareguard.config import get_settings
from shareguard.errors import keeps_audit

#: How long a thread waits for this process's SQLite writer lock before going ahead anyway.
WRITER_WAIT_SECONDS = 30.0


def make_engine(url: str, *, synchronous: str = "FULL", **kwargs: Any) -> Engine:
    """Create an engine; for SQLite set the pragmas every connection needs."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy own transactions (pysqlite's legacy autocommit fights BEGIN).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # SQLite has one writer. Threads of this process queue for it on a lock of our own:
        # SQLite's busy handler makes a waiting writer sleep and poll (up to 100 ms a time),
        # so under load the write lock sat idle between transactions; a lock hands it over at
        # once. Waiting is bounded, after which SQLite's own busy handling applies as before.
        writer = threading.Lock()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.info["sg_writer"] = writer.acquire(timeout=WRITER_WAIT_SECONDS)
            try:
                # IMMEDIATE takes the write lock up front, so concurrent writers queue
                # instead of failing with "database is locked" on lock upgrade.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(conn)
                raise

        def _release(conn: Any, *_: Any) -> None:
            if conn.info.pop("sg_writer", False):
                writer.release()

        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    if settings.url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.url, synchronous=settings.sqlite_synchronous)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


def settle(session: Session, error: BaseException) -> None:
    """End a unit of work that failed with ``error``: keep it if the error asks, else undo it.

    Boundaries call this, and so does a console page that catches a service's error to show
    a form again (so a half-done operation is never committed by the page's own success).
    """
    if keeps_audit(error):
        session.commit()
    else:
        session.rollback()


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction for a CLI command or a job: commit on success, roll back on error.

    Services never commit; this (and the request boundary, ``web.deps.get_session``) does.
    An error raised through ``errors.keep_audit`` commits what was written (its audit entry)
    before it propagates.
    """
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        settle(session, exc)
        raise
    finally:
        session.close()


#: The older name, kept for callers outside the package.
session_scope = unit_of_work

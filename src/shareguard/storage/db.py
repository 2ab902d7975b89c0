"""Engine and session factory. SQLite gets WAL, foreign keys, a documented sync level and
group commit."""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from shareguard.config import get_settings
from shareguard.errors import keeps_audit
from shareguard.storage import group

#: How long a thread waits for this process's SQLite writer before giving up.
WRITER_WAIT_SECONDS = group.WRITER_WAIT_SECONDS
_writers: weakref.WeakKeyDictionary[Engine, group.Writer] = weakref.WeakKeyDictionary()


def _sqlite_connect(path: str, synchronous: str) -> sqlite3.Connection:
    # isolation_level None: we (or SQLAlchemy) issue BEGIN; pysqlite's own would fight it.
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def make_engine(url: str, *, synchronous: str = "FULL", **kwargs: Any) -> Engine:
    """Create an engine; for SQLite set the pragmas every connection needs.

    A SQLite file gets group commit (``storage/group.py``): a unit of work reads on its own
    WAL snapshot until it first writes, then writes in this process's one write transaction,
    which the units arriving together commit with one fsync.
    """
    if not url.startswith("sqlite"):
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return _plain_sqlite_engine(url, synchronous, **kwargs)
    writer = group.Writer(lambda: _sqlite_connect(path, synchronous))
    engine = create_engine(
        url,
        creator=lambda: group.GroupConnection(writer, _sqlite_connect(path, synchronous)),
        **kwargs,
    )
    _writers[engine] = writer
    event.listen(engine, "engine_disposed", lambda _engine: writer.close())
    return engine


def group_writer(engine: Engine) -> group.Writer | None:
    """The SQLite engine's group-commit writer (None on PostgreSQL or in-memory SQLite)."""
    return _writers.get(engine)


def _plain_sqlite_engine(url: str, synchronous: str, **kwargs: Any) -> Engine:
    """In-memory SQLite: one connection, every transaction ``BEGIN IMMEDIATE``."""
    kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    if settings.url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.url, synchronous=settings.sqlite_synchronous)


def session_factory(bind: Engine | Connection | None = None) -> sessionmaker[Session]:
    """Sessions on ``bind``: the app's engine by default, or one connection (the audit
    integrator's, which holds its advisory lock across units of work)."""
    return sessionmaker(bind=bind if bind is not None else get_engine(), expire_on_commit=False)


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
def unit_of_work(engine: Engine | Connection | None = None) -> Iterator[Session]:
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


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's current transaction commits (never if it rolls back).

    For work outside the database that must follow the rows describing it (a results file
    put in place once its run is recorded). Services call it; the boundary's commit fires it.
    """
    _hooks(session)["commit"].append(action)


def on_rollback(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` if the session's current transaction rolls back instead of committing.

    For work outside the database done inside a unit of work (a file written): it is undone
    when the rows describing it never commit.
    """
    _hooks(session)["rollback"].append(action)


def _hooks(session: Session) -> dict[str, list[Callable[[], None]]]:
    hooks = session.info.get("sg_hooks")
    if hooks is None:
        hooks = session.info["sg_hooks"] = {"commit": [], "rollback": []}
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
    return hooks


def _run_hooks(session: Session, which: str) -> None:
    hooks = session.info.get("sg_hooks")
    if not hooks:
        return
    actions = hooks[which]
    hooks["commit"], hooks["rollback"] = [], []
    for action in actions:
        action()


def _after_commit(session: Session) -> None:
    _run_hooks(session, "commit")


def _after_rollback(session: Session) -> None:
    _run_hooks(session, "rollback")

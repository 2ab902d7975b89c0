"""Group commit for SQLite: the units of work of one process share one write transaction.

SQLite has one writer at a time and, with ``synchronous=FULL``, an fsync per commit. Before,
every unit of work (a check, say) began ``BEGIN IMMEDIATE`` on its own connection, held the
write lock from authentication to commit, and paid its own fsync: units queued behind each
other's disk flushes. Here each pooled connection is a ``GroupConnection``:

* **Reads first, outside the write transaction.** Until a unit of work writes, its statements
  run on a read connection of its own, in a WAL snapshot taken at its first read: API-key
  authentication, agreement terms, the policy generation, look-ups. Readers never wait for
  the writer, nor it for them.
* **Writes in the shared transaction.** At its first write the unit takes this process's
  writer (one connection, one lock), opens the group's transaction if none is open
  (``BEGIN IMMEDIATE``), and runs in a ``SAVEPOINT`` of its own; its later reads go there too,
  so it reads its own writes. Rolling back rolls back to the savepoint: only its own work.
* **One commit, one fsync, for everyone.** When a unit ends its write part (``RELEASE``), it
  commits the group itself if no other unit is waiting for the writer, or if the group has
  waited ``MAX_DELAY`` seconds or holds ``MAX_UNITS`` units; otherwise the next unit joins the
  group. Either way a unit's ``commit()`` returns only once the group's ``COMMIT`` is durable
  (or raises if it failed), so no answer leaves before its audit entry is on disk.

A unit's reads before its first write see the database as of its snapshot, as a PostgreSQL
``READ COMMITTED`` statement sees what had committed when it began: a count read there (the
daily limit, the failure limits) can miss units committing meanwhile, so such limits hold to
within the checks in flight at once, as on PostgreSQL with several workers.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

#: Seconds a group stays open for more units while others are waiting for the writer.
MAX_DELAY = 0.005
#: Units in a group before it commits even though others are waiting.
MAX_UNITS = 128
#: Seconds a unit waits for this process's writer before giving up with "database is locked".
WRITER_WAIT_SECONDS = 30.0
_SAVEPOINT = "sg_unit"


def is_read(sql: str) -> bool:
    """A statement that only reads (runs on the unit's snapshot until it first writes)."""
    head = sql.lstrip()[:7].upper()
    if head.startswith("SELECT"):
        return True
    if head.startswith("PRAGMA"):
        return "=" not in sql
    return False


class GroupFailed(sqlite3.OperationalError):
    """The group's commit failed: this unit's writes were not made durable."""


class Writer:
    """This process's one write connection and the group transaction on it."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self.conn: sqlite3.Connection | None = None
        self.lock = threading.Lock()  # held by the unit (or committer) using ``conn``
        self._state = threading.Condition(threading.Lock())
        self._waiting = 0  # units blocked in ``enter``
        self._group = 0  # the open group's number (0: none open)
        self._next = 1
        self._opened = 0.0
        self._units = 0  # units released into the open group
        self._done = 0  # highest group number whose outcome is known
        self._failed: dict[int, BaseException] = {}
        #: Groups committed and units they carried (for tests and benchmarks).
        self.groups = 0
        self.units = 0
        # SQL functions the dialect registers on each connection, registered on the writer
        # the next time a unit takes it (never waiting for it here).
        self._functions: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._registered = 0

    def add_function(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        with self._state:
            if (args, kwargs) not in self._functions:
                self._functions.append((args, kwargs))

    # -- a unit's write part ---------------------------------------------------------------
    def enter(self) -> sqlite3.Connection:
        """Take the writer for one unit: its savepoint in the open (or a new) group."""
        with self._state:
            self._waiting += 1
        got = self.lock.acquire(timeout=WRITER_WAIT_SECONDS)
        with self._state:
            self._waiting -= 1
        if not got:
            raise sqlite3.OperationalError(
                f"database is locked (waited {WRITER_WAIT_SECONDS:.0f} s for this process's writer)"
            )
        try:
            conn = self._conn()
            while self._registered < len(self._functions):
                args, kwargs = self._functions[self._registered]
                conn.create_function(*args, **kwargs)
                self._registered += 1
            if self._group and not conn.in_transaction:
                self._fail_open(sqlite3.OperationalError("SQLite rolled the group back"))
            if self._group and time.monotonic() - self._opened >= MAX_DELAY and self._units:
                self._commit()  # a long unit ahead must not hold back those before it
            if not self._group:
                conn.execute("BEGIN IMMEDIATE")
                with self._state:
                    self._group, self._next = self._next, self._next + 1
                self._opened, self._units = time.monotonic(), 0
            conn.execute(f"SAVEPOINT {_SAVEPOINT}")
            return conn
        except BaseException:
            self.lock.release()
            raise

    def leave(self, ok: bool) -> int:
        """End a unit's write part (keeping or undoing it); returns the group to wait for
        (0 when there is nothing to wait for). Commits the group when nobody else is waiting."""
        conn = self._conn()
        group = 0
        try:
            if not conn.in_transaction:
                self._fail_open(sqlite3.OperationalError("SQLite rolled the group back"))
                if ok:
                    raise GroupFailed("the write transaction was rolled back; nothing was saved")
                return 0
            if ok:
                conn.execute(f"RELEASE {_SAVEPOINT}")
                self._units += 1
                group = self._group
            else:
                conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                conn.execute(f"RELEASE {_SAVEPOINT}")
            with self._state:
                waiting = self._waiting
            if (
                not waiting
                or self._units >= MAX_UNITS
                or time.monotonic() - self._opened >= MAX_DELAY
            ):
                self._commit()
        finally:
            self.lock.release()
        return group

    def wait(self, group: int) -> None:
        """Block until ``group`` has committed; raise GroupFailed if its commit failed."""
        if not group:
            return
        with self._state:
            while self._done < group:
                self._state.wait()
            failed = self._failed.get(group)
        if failed is not None:
            raise GroupFailed(f"the group commit failed: {failed}") from failed

    # -- the group -------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self.conn is None:
            self.conn = self._connect()
        return self.conn

    def _commit(self) -> None:
        """COMMIT the open group (the caller holds ``lock``) and tell its units."""
        group = self._group
        if not group:
            return
        conn = self._conn()
        failed: BaseException | None = None
        try:
            conn.execute("COMMIT")
        except BaseException as exc:  # the disk, or the process's own interrupt
            failed = exc
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._drop()
        with self._state:
            if failed is not None and self._units:
                self._failed[group] = failed
                for old in [g for g in self._failed if g < group - 1000]:
                    del self._failed[old]
            self._done = group
            self._group = 0
            if failed is None and self._units:
                self.groups += 1
                self.units += self._units
            self._state.notify_all()

    def _fail_open(self, error: BaseException) -> None:
        with self._state:
            if self._units:
                self._failed[self._group] = error
            self._done = self._group
            self._group = 0
            self._state.notify_all()

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None
                self._registered = 0

    def close(self) -> None:
        with self.lock:
            if self._group:
                self._commit()
            self._drop()


class GroupConnection:
    """A DB-API connection for one pooled SQLAlchemy connection: reads on its own snapshot
    until the unit of work writes, then everything through the process's ``Writer``."""

    def __init__(self, writer: Writer, reader: sqlite3.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._reading = False
        self._writing: sqlite3.Connection | None = None

    # what SQLAlchemy's pysqlite dialect touches on the driver's connection
    isolation_level = None

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._reader.create_function(*args, **kwargs)
        self._writer.add_function(args, kwargs)

    def __getattr__(self, name: str) -> Any:  # anything else the dialect asks the driver
        return getattr(self._reader, name)

    def cursor(self) -> GroupCursor:
        return GroupCursor(self)

    def _target(self, sql: str) -> sqlite3.Connection:
        if self._writing is not None:
            return self._writing
        if is_read(sql):
            if not self._reading:
                self._reader.execute("BEGIN")  # the snapshot starts at the first read
                self._reading = True
            return self._reader
        if self._reading:  # the unit's reads end here; its writes see the latest state
            self._reader.execute("ROLLBACK")
            self._reading = False
        self._writing = self._writer.enter()
        return self._writing

    def commit(self) -> None:
        if self._writing is not None:
            self._writing = None
            self._writer.wait(self._writer.leave(ok=True))
        self._end_read()

    def rollback(self) -> None:
        if self._writing is not None:
            self._writing = None
            self._writer.leave(ok=False)
        self._end_read()

    def _end_read(self) -> None:
        if self._reading:
            self._reading = False
            self._reader.execute("ROLLBACK")

    def close(self) -> None:
        try:
            self.rollback()
        finally:
            self._reader.close()

    @property
    def in_transaction(self) -> bool:
        return self._reading or self._writing is not None


class GroupCursor:
    """A DB-API cursor whose statements go where ``GroupConnection`` routes them."""

    arraysize = 1

    def __init__(self, conn: GroupConnection) -> None:
        self._conn = conn
        self._cursor: sqlite3.Cursor | None = None

    def execute(self, sql: str, parameters: Any = ()) -> GroupCursor:
        self._cursor = self._conn._target(sql).cursor()
        self._cursor.execute(sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any) -> GroupCursor:
        self._cursor = self._conn._target(sql).cursor()
        self._cursor.executemany(sql, seq_of_parameters)
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description if self._cursor is not None else None

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount if self._cursor is not None else -1

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid if self._cursor is not None else None

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor is not None else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        if self._cursor is None:
            return []
        return self._cursor.fetchmany(size if size is not None else self.arraysize)

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor is not None else []

    def __iter__(self) -> Any:
        return iter(self._cursor) if self._cursor is not None else iter(())

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

"""The integrator: one at a time per log, across processes and machines.

Appends only write entries (``log.append``); the integrator gives them their places in the
tree. Every ``shareguard serve`` process runs one ``Integrator`` candidate in a background
thread. On PostgreSQL the candidate holding the session-level advisory lock
(``pg_try_advisory_lock``) is the integrator; the others retry every
``RETRY_SECONDS``, and when the holder's process dies its connection closes, the lock goes
with it and another candidate takes over. On SQLite every batch is a write transaction and
SQLite has one writer, so whichever candidate writes a batch integrates it. Either way the
log head only moves from the size a batch read (``log.integrate``), so even two integrators
at once could not number an entry twice.

While it holds the role a candidate integrates up to ``batch`` entries at a time and, when
fewer than that were waiting, sleeps ``interval`` seconds (Tessera's "256 entries or
250 ms"); it signs a checkpoint every ``checkpoint_interval`` seconds when the log has grown.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from shareguard.audit import log as audit_log
from shareguard.config import Settings
from shareguard.storage.db import unit_of_work

logger = logging.getLogger(__name__)

_ANY_PENDING = "SELECT 1 FROM audit_entries WHERE seq IS NULL LIMIT 1"
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:k)")
_UNLOCK = text("SELECT pg_advisory_unlock(:k)")
#: Seconds a candidate waits before trying for the role again (or after an error).
RETRY_SECONDS = 1.0


class Integrator:
    """One integrator candidate: a background thread (``start``/``stop``)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.batch = settings.integrate_batch
        self.interval = settings.integrate_interval
        self.checkpoint_interval = settings.checkpoint_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: True while this candidate holds the integrator role (PostgreSQL) or is working.
        self.active = False

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="audit-integrator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._role() as (held, conn):
                    if held:
                        self.active = True
                        self._work(conn)
            except Exception:  # keep the candidate alive; the next round retries
                logger.exception("audit integrator failed; retrying")
            finally:
                self.active = False
            self._stop.wait(RETRY_SECONDS)

    @contextlib.contextmanager
    def _role(self) -> Iterator[tuple[bool, Connection | None]]:
        """Whether this candidate holds the role, and on PostgreSQL the connection holding the
        advisory lock (on SQLite each batch's write lock is the role: always held, no
        connection)."""
        if self.engine.dialect.name != "postgresql":
            yield True, None
            return
        conn = self.engine.connect()
        held = False
        try:
            held = bool(conn.execute(_TRY_LOCK, {"k": audit_log.PG_LOCK_KEY}).scalar())
            conn.commit()
            if not held:
                yield False, None
                return
            logger.info("this process is now the audit log's integrator")
            yield True, conn
            conn.rollback()
            conn.execute(_UNLOCK, {"k": audit_log.PG_LOCK_KEY})
            conn.commit()
            held = False
        finally:
            if held:  # it may still hold the lock: never hand it back to the pool
                conn.invalidate()
            conn.close()

    def _work(self, conn: Connection | None) -> None:
        last_checkpoint = time.monotonic()
        grown = True  # whether the log may have grown since the last checkpoint
        while not self._stop.is_set():
            # A read first: an idle log costs no write transaction (and no fsync) per round.
            done = self.integrate_once(conn) if self.has_pending() else 0
            if done is None:  # lost the role
                return
            grown = grown or done > 0
            if self.checkpoint_interval > 0 and grown:
                now = time.monotonic()
                if now - last_checkpoint >= self.checkpoint_interval:
                    self.checkpoint(conn)
                    last_checkpoint, grown = now, False
            if done < self.batch:
                self._stop.wait(self.interval)

    def has_pending(self) -> bool:
        """Whether any committed entry waits (a plain read, outside any write transaction)."""
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(_ANY_PENDING)
            found = cur.fetchone() is not None
            cur.close()
            raw.rollback()
        finally:
            raw.close()
        return found

    def integrate_once(self, conn: Connection | None) -> int | None:
        """Integrate up to ``batch`` pending entries in one unit of work of their own."""
        with unit_of_work(conn if conn is not None else self.engine) as session:
            return audit_log.integrate(session, self.batch)

    def checkpoint(self, conn: Connection | None) -> int:
        """Sign a checkpoint of the integrated log if it grew; returns the size signed."""
        from shareguard.audit.service import AuditService  # service imports this module

        with unit_of_work(conn if conn is not None else self.engine) as session:
            size = AuditService(session, self.settings).checkpoint().tree_size
        logger.info("audit checkpoint at tree size %d", size)
        return size


def catch_up(session: Session, timeout: float = 30.0) -> int:
    """Integrate what is pending now, in the caller's transaction; returns what is left pending.

    When another integrator holds the role (a running ``serve`` on PostgreSQL), waits up to
    ``timeout`` seconds for it to integrate as many entries as were pending at the start, re-reading
    (PostgreSQL's READ COMMITTED sees its commits). The CLI calls this before ``audit verify``,
    ``proof`` and ``checkpoint``; tests call it through ``tests.factories.integrated``.
    """
    done = audit_log.integrate(session)
    if done is not None:
        return 0
    tree = audit_log.StoredTree(session)
    start, waiting = tree.size(), audit_log.pending_count(session)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        time.sleep(0.05)
        if tree.size() - start >= waiting:
            break
        if audit_log.integrate(session) is not None:  # the holder went away: do it here
            break
    return audit_log.pending_count(session)

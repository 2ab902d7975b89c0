"""Match runs as background jobs: one thread per run, its own session, progress on the run row."""

from __future__ import annotations

import logging
import threading
import uuid

from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
_threads: dict[uuid.UUID, threading.Thread] = {}


def start(session_factory: sessionmaker[Session], run_id: uuid.UUID) -> threading.Thread:
    """Execute a queued run in a daemon thread; poll the run for its state and progress."""
    from shareguard.matching.service import MatchingService

    def work() -> None:
        session = session_factory()
        try:
            MatchingService(session).execute(run_id)
        except Exception as exc:
            log.warning("background match run %s ended with %s", run_id, type(exc).__name__)
        finally:
            session.close()
            _threads.pop(run_id, None)

    thread = threading.Thread(target=work, name=f"match-run-{run_id}", daemon=True)
    _threads[run_id] = thread
    thread.start()
    return thread


def wait(run_id: uuid.UUID, timeout: float | None = None) -> None:
    """Block until the run's thread ends (tests and the CLI use it)."""
    thread = _threads.get(run_id)
    if thread is not None:
        thread.join(timeout)

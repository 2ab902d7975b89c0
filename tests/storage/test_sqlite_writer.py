"""SQLite writers of one process queue on a lock of ours, released however a transaction ends."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from shareguard.storage.db import make_engine, session_factory


def _begin_takes(engine, seconds: float = 5.0) -> float:  # type: ignore[no-untyped-def]
    """How long another thread waits to begin a transaction (it gives up after ``seconds``)."""
    took: list[float] = []

    def other() -> None:
        t = time.perf_counter()
        with session_factory(engine)() as s:
            s.execute(text("SELECT 1"))
            took.append(time.perf_counter() - t)
            s.rollback()

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    thread.join(seconds)
    return took[0] if took else seconds


def test_the_writer_lock_is_released_on_commit_rollback_and_close(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    for end in ("commit", "rollback", "close"):
        s = session_factory(engine)()
        s.execute(text("SELECT 1"))  # begins: takes the lock
        getattr(s, end)()
        assert _begin_takes(engine) < 1.0, f"lock still held after {end}"
        s.close()
    engine.dispose()


def test_a_second_writer_waits_for_the_first_to_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    first = session_factory(engine)()
    first.execute(text("CREATE TABLE t (x INTEGER)"))
    started = time.perf_counter()
    threading.Timer(0.3, first.commit).start()
    waited = _begin_takes(engine)
    assert 0.25 < waited < 2.0, waited  # it waited for the commit, then went ahead
    assert time.perf_counter() - started < 3.0
    first.close()
    engine.dispose()

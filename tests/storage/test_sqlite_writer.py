"""SQLite group commit: readers never wait, writers of one process share one transaction and
one fsync, and each unit of work's commit returns only once its writes are durable."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from shareguard.storage import group
from shareguard.storage.db import group_writer, make_engine, session_factory


@pytest.fixture
def engine(tmp_path: Path) -> Engine:  # type: ignore[misc]
    eng = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))
    yield eng
    eng.dispose()


def _takes(engine: Engine, sql: str, seconds: float = 5.0) -> float:
    """How long another thread takes to run ``sql`` and commit (gives up after ``seconds``)."""
    took: list[float] = []

    def other() -> None:
        t = time.perf_counter()
        with session_factory(engine)() as s:
            s.execute(text(sql))
            s.commit()
            took.append(time.perf_counter() - t)

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    thread.join(seconds)
    return took[0] if took else seconds


def test_the_writer_is_released_on_commit_rollback_and_close(engine: Engine) -> None:
    for n, end in enumerate(("commit", "rollback", "close")):
        s = session_factory(engine)()
        s.execute(text(f"INSERT INTO t VALUES ({n})"))  # a write: takes the writer
        getattr(s, end)()
        assert _takes(engine, f"INSERT INTO t VALUES ({100 + n})") < 1.0, f"held after {end}"
        s.close()


def test_a_second_writer_waits_for_the_first_to_commit(engine: Engine) -> None:
    first = session_factory(engine)()
    first.execute(text("INSERT INTO t VALUES (1)"))
    started = time.perf_counter()
    threading.Timer(0.3, first.commit).start()
    waited = _takes(engine, "INSERT INTO t VALUES (2)")
    assert 0.25 < waited < 2.0, waited  # it waited for the commit, then went ahead
    assert time.perf_counter() - started < 3.0
    first.close()


def test_a_reader_does_not_wait_for_a_writer_and_sees_only_what_committed(
    engine: Engine,
) -> None:
    writer = session_factory(engine)()
    writer.execute(text("INSERT INTO t VALUES (1)"))  # holds the writer, uncommitted
    reader = session_factory(engine)()
    t = time.perf_counter()
    assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
    assert time.perf_counter() - t < 1.0
    reader.rollback()
    writer.commit()
    assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 1
    reader.close()
    writer.close()


def test_a_unit_reads_its_own_writes(engine: Engine) -> None:
    with session_factory(engine)() as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 0  # on its snapshot
        s.execute(text("INSERT INTO t VALUES (7)"))
        assert s.execute(text("SELECT x FROM t")).scalar() == 7  # in the shared transaction
        s.commit()


def test_concurrent_units_share_commits_and_each_returns_durable(engine: Engine) -> None:
    writer = group_writer(engine)
    assert writer is not None
    path = engine.url.database
    errors: list[BaseException] = []
    missing: list[int] = []

    def unit(n: int) -> None:
        try:
            with session_factory(engine)() as s:
                s.execute(text("SELECT count(*) FROM t")).scalar()
                s.execute(text(f"INSERT INTO t VALUES ({n})"))
                s.commit()
            # Committed means on disk: a fresh connection of its own sees it at once.
            check = sqlite3.connect(path)
            if check.execute("SELECT count(*) FROM t WHERE x = ?", (n,)).fetchone()[0] != 1:
                missing.append(n)
            check.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=unit, args=(n,)) for n in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not missing
    assert writer.units == 64 + 1  # the fixture's CREATE TABLE was one unit
    assert writer.groups < writer.units  # units shared commits


def test_a_unit_that_rolls_back_undoes_only_its_own_writes(engine: Engine) -> None:
    a, b = session_factory(engine)(), session_factory(engine)()
    a.execute(text("INSERT INTO t VALUES (1)"))
    done = threading.Event()

    def second() -> None:
        b.execute(text("INSERT INTO t VALUES (2)"))  # waits for a's write part to end
        b.commit()
        done.set()

    threading.Thread(target=second, daemon=True).start()
    time.sleep(0.1)
    a.rollback()  # b joins the group a opened; a's row is undone, b's is kept
    assert done.wait(5)
    with session_factory(engine)() as s:
        assert list(s.execute(text("SELECT x FROM t")).scalars()) == [2]
    a.close()
    b.close()


class _CommitFails:
    """The writer's connection, whose COMMIT fails as when the disk is full."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("disk I/O error")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)


def test_a_failed_group_commit_fails_every_unit_in_it(engine: Engine) -> None:
    writer = group_writer(engine)
    assert writer is not None
    real = writer._conn()
    a, b = session_factory(engine)(), session_factory(engine)()
    a.execute(text("INSERT INTO t VALUES (1)"))
    failures: list[BaseException] = []

    def second() -> None:
        try:
            b.execute(text("INSERT INTO t VALUES (2)"))
            b.commit()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=second, daemon=True)
    thread.start()
    time.sleep(0.1)  # b waits for the writer: a leaves without committing, b joins the group
    writer.conn = _CommitFails(real)  # type: ignore[assignment]
    with pytest.raises(OperationalError, match="group commit failed"):
        a.commit()
    thread.join(5)
    writer.conn = real
    assert len(failures) == 1 and isinstance(failures[0], OperationalError)
    assert isinstance(failures[0].orig, group.GroupFailed)
    a.close()
    b.close()
    with session_factory(engine)() as fresh:
        assert fresh.execute(text("SELECT count(*) FROM t")).scalar() == 0  # neither kept
        fresh.execute(text("INSERT INTO t VALUES (3)"))  # and the writer works again
        fresh.commit()

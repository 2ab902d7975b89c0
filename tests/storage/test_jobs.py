"""The background-job helper: each run one unit of work; a failing run is undone and logged by
its type only, and the schedule goes on."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from shareguard.audit import AuditRecord, append
from shareguard.audit.models import AuditEntry
from shareguard.storage.db import unit_of_work
from shareguard.storage.jobs import Job, run_once, schedule, spawn, wait


def entries(engine: Engine, action: str) -> int:
    with unit_of_work(engine) as s:
        stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        return int(s.scalar(stmt) or 0)


def test_a_run_commits_its_work_and_a_failing_run_leaves_nothing(engine: Engine) -> None:
    def work(session: Session) -> str:
        return append(session, AuditRecord(action="job.tick")).action

    assert run_once(Job("tick", 60, work), engine) == "job.tick"
    assert entries(engine, "job.tick") == 1

    def broken(session: Session) -> None:
        append(session, AuditRecord(action="job.half_done"))
        raise RuntimeError("the job's collaborator failed")

    with pytest.raises(RuntimeError):
        run_once(Job("broken", 60, broken), engine)
    assert entries(engine, "job.half_done") == 0


def test_a_repeating_job_gives_each_item_its_own_unit_of_work(engine: Engine) -> None:
    left = [3]

    def one(session: Session) -> int | None:
        if not left[0]:
            return None
        left[0] -= 1
        append(session, AuditRecord(action="job.item"))
        if left[0] == 1:
            raise RuntimeError("the second item fails")
        return left[0]

    with pytest.raises(RuntimeError):
        run_once(Job("items", 60, one, repeat=10), engine)
    assert entries(engine, "job.item") == 1  # the first item committed before the second failed
    assert run_once(Job("items", 60, one, repeat=10), engine) == [0]
    assert entries(engine, "job.item") == 2


def test_a_scheduled_job_runs_while_serving_and_outlives_a_failure(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    runs = [0]

    def work(session: Session) -> int:
        runs[0] += 1
        append(session, AuditRecord(action="job.scheduled"))
        if runs[0] == 1:
            raise RuntimeError("Ada Testperson, born 1990-03-27")  # never logged
        return runs[0]

    app = FastAPI()
    app.state.engine = engine
    schedule(app, Job("scheduled", 0.05, work, report=lambda n: f"run {n}"))
    caplog.set_level(logging.INFO, logger="shareguard.storage.jobs")
    with TestClient(app):
        deadline = time.monotonic() + 30
        while runs[0] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert runs[0] >= 3
    # A run cut off at shutdown may still be finishing in its thread: let it.
    deadline = time.monotonic() + 10
    while entries(engine, "job.scheduled") != runs[0] - 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert entries(engine, "job.scheduled") == runs[0] - 1  # the failed run left nothing
    assert "job scheduled failed: RuntimeError" in caplog.text
    assert "job scheduled: run 2" in caplog.text
    assert "Ada" not in caplog.text and "1990" not in caplog.text


def test_a_spawned_job_runs_once_in_its_own_thread(engine: Engine) -> None:
    def work() -> None:
        with unit_of_work(engine) as s:
            append(s, AuditRecord(action="job.spawned"))

    spawn("spawned-once", work)
    wait("spawned-once", 30)
    assert entries(engine, "job.spawned") == 1

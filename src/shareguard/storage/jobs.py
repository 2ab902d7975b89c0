"""Background jobs: work done outside a request, each run its own unit of work.

Two shapes, one helper each:

* ``schedule(app, Job(...))`` - while the web app serves, run ``job.work(session)`` every
  ``job.every`` seconds in ``unit_of_work`` (commit on success, roll back on error), off the
  event loop. Used by the ``startup`` rooms (audit checkpoints, notices, data quality).
* ``spawn(name, work)`` - run ``work()`` once in a daemon thread (a match run), which opens
  its own units of work; ``wait(name)`` joins it.

A job that fails is logged by its name and the error's type only (an error's text can carry
a statement's parameters, so personal data); the schedule goes on and the next run retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shareguard import telemetry
from shareguard.storage.db import unit_of_work

log = logging.getLogger(__name__)

_threads: dict[str, threading.Thread] = {}


def _silent(_result: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Job:
    """Work run at an interval, each run one unit of work."""

    #: The task's name, and how the log names the job.
    name: str
    #: Seconds between runs; the first run waits one interval.
    every: float
    #: The work, given a session; the unit of work commits when it returns.
    work: Callable[[Session], Any]
    #: What to log after a run (counts and ids only), or None for nothing.
    report: Callable[[Any], str | None] = _silent
    #: If set, one run repeats ``work``, each time in a fresh unit of work, until it returns
    #: None or this many times (one unit per item: one webhook delivery, say); the run then
    #: returns the list of what each returned.
    repeat: int = 0


def run_once(job: Job, engine: Engine | None = None) -> Any:
    """Run ``job`` once: ``work`` in its own unit of work (or repeated, see ``Job.repeat``).

    Returns what the work returned. CLI commands that do a scheduled job's work call this too.
    """
    if not job.repeat:
        with unit_of_work(engine) as session:
            return job.work(session)
    results = []
    for _ in range(job.repeat):
        with unit_of_work(engine) as session:
            result = job.work(session)
        if result is None:
            break
        results.append(result)
    return results


async def _every(job: Job, engine: Engine | None) -> None:
    while True:
        await asyncio.sleep(job.every)
        try:
            result = await asyncio.to_thread(run_once, job, engine)
        except Exception as exc:  # keep the schedule alive; the next run retries
            log.warning("job %s failed: %s", job.name, type(exc).__name__)
            telemetry.count("jobs", job=job.name, result="failed")
            continue
        telemetry.count("jobs", job=job.name, result="ok")
        line = job.report(result)
        if line:
            log.info("job %s: %s", job.name, line)


def schedule(app: Any, *jobs: Job) -> None:
    """Run ``jobs`` while the (FastAPI) ``app`` serves, on its engine; cancelled at shutdown."""
    if not jobs:
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        engine = getattr(app.state, "engine", None)
        tasks = [asyncio.create_task(_every(job, engine), name=job.name) for job in jobs]
        try:
            async with inner(a) as state:
                yield state
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan


def spawn(name: str, work: Callable[[], Any]) -> threading.Thread:
    """Run ``work()`` once in a daemon thread named ``name``; it opens its own units of work."""

    def target() -> None:
        try:
            work()
        except Exception as exc:
            log.warning("job %s ended with %s", name, type(exc).__name__)
        finally:
            _threads.pop(name, None)

    thread = threading.Thread(target=target, name=name, daemon=True)
    _threads[name] = thread
    thread.start()
    return thread


def wait(name: str, timeout: float | None = None) -> None:
    """Block until the spawned job ``name`` ends (returns at once if it is not running)."""
    thread = _threads.get(name)
    if thread is not None:
        thread.join(timeout)

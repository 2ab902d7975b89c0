"""Match runs as jobs: each stage of a run its own unit of work, progress on the run row.

``execute`` is a boundary, like a CLI command: it begins the run, reads its inputs, links
with no transaction open (progress is recorded through short units of work of its own, so the
run's work is never committed early), then records candidates, disclosures and counts in one
unit of work. ``start`` does the same in a background thread (the API's runs).
"""

from __future__ import annotations

import logging
import threading
import uuid

from sqlalchemy import Engine

from shareguard.errors import ShareguardError
from shareguard.matching.models import MatchRun
from shareguard.matching.pairs import Progress, link, write_outputs
from shareguard.matching.runs import RunService
from shareguard.storage import jobs
from shareguard.storage.db import unit_of_work

log = logging.getLogger(__name__)


def execute(
    run_id: uuid.UUID,
    progress: Progress | None = None,
    *,
    engine: Engine | None = None,
    spark: object | None = None,
) -> MatchRun:
    """Do a queued run: gate the watch list, link, write outputs, disclose, record.

    Progress goes to the run row (for the API) and to ``progress`` (for the CLI). Raises
    Conflict (changing nothing) if the run is not queued. A failure marks the run failed with
    a message free of personal data, and is raised as a ShareguardError.
    """
    with unit_of_work(engine) as session:
        RunService(session).begin(run_id)

    def say(stage: str, done: float) -> None:
        with unit_of_work(engine) as session:
            now = RunService(session).progress(run_id, stage, done)
        if progress:
            progress(stage, now)

    if progress:
        progress("gating the watch list", 0.01)
    try:
        with unit_of_work(engine) as session:
            inputs = RunService(session).prepare(run_id)
        pairs, trained = link(inputs, say, spark)
        say("writing outputs", 0.82)
        write_outputs(inputs.out, pairs, trained)
        say("deciding disclosures", 0.88)
        with unit_of_work(engine) as session:
            run = RunService(session).record(run_id, inputs, pairs)
    except BaseException as exc:
        with unit_of_work(engine) as session:
            failed = RunService(session).fail(run_id, exc)
        log.warning("match run %s failed: %s", run_id, type(exc).__name__)
        if not isinstance(exc, Exception) or isinstance(exc, ShareguardError):
            raise
        raise ShareguardError(f"match run {run_id} failed: {failed.error}") from exc
    if progress:
        progress("done", 1.0)
    return run


def start(engine: Engine, run_id: uuid.UUID) -> threading.Thread:
    """Execute a queued (committed) run in a daemon thread; poll the run for its progress."""
    return jobs.spawn(_name(run_id), lambda: execute(run_id, engine=engine))


def wait(run_id: uuid.UUID, timeout: float | None = None) -> None:
    """Block until the run's thread ends (tests and the CLI use it)."""
    jobs.wait(_name(run_id), timeout)


def _name(run_id: uuid.UUID) -> str:
    return f"match-run-{run_id}"

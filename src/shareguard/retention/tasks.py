"""The retention run as a job: each batch its own unit of work, resumable, with progress.

``run`` is what ``shareguard retention run`` calls; ``JOB`` is the schedule's form of the same
work while serving (``startup.py``): each repeat is one unit (start or resume, one batch, or
finish), so a slow run never holds a transaction open and stopping it loses at most a batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.config import Settings, get_settings
from shareguard.retention.service import Plan, RetentionService
from shareguard.storage.db import unit_of_work
from shareguard.storage.jobs import Job

#: Called after each batch with the records it erased.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Outcome:
    """What a run did (or, for a dry run, would do)."""

    run_id: uuid.UUID | None
    as_of: datetime
    dry_run: bool
    resumed: bool
    erased: dict[str, dict[str, int]]
    held: dict[str, dict[str, int]]
    batches: int
    audit_entry_id: uuid.UUID | None = None

    @property
    def total(self) -> int:
        return sum(n for kinds in self.erased.values() for n in kinds.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": str(self.run_id) if self.run_id else None,
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "erased" if not self.dry_run else "would_erase": self.erased,
            "held": self.held,
            "batches": self.batches,
            "audit_entry_id": str(self.audit_entry_id) if self.audit_entry_id else None,
        }


def plan(
    engine: Engine | None = None,
    *,
    at: datetime | None = None,
    settings: Settings | None = None,
    scope: str = "",
) -> Plan:
    """What a run would do now (or at ``at``), reading only: the dry run."""
    with unit_of_work(engine) as session:
        return RetentionService(session, settings).plan(at, scope)


def run(
    engine: Engine | None = None,
    *,
    at: datetime | None = None,
    dry_run: bool = False,
    principal: Principal | None = None,
    settings: Settings | None = None,
    batch: int | None = None,
    progress: Progress | None = None,
    max_batches: int | None = None,
    started: Callable[[uuid.UUID, bool, int], None] | None = None,
    scope: str = "",
) -> Outcome:
    """Run retention to the end: start (or resume the unfinished run), batch by batch, finish.

    A dry run writes nothing. ``scope`` limits a new run to one agreement. ``max_batches``
    stops early, leaving the run to be resumed (the tests' way of stopping a run part-way).
    ``started`` is told the run's id, whether it was resumed and how many records it has left
    to erase, before the first batch.
    """
    if dry_run:
        found = plan(engine, at=at, settings=settings, scope=scope)
        return Outcome(None, found.as_of, True, False, found.due, found.held, 0)
    with unit_of_work(engine) as session:
        service = RetentionService(session, settings)
        row, resumed = service.start(at, principal, scope)
        run_id = row.id
        if started is not None:
            started(run_id, resumed, service.plan(row.as_of, row.scope).total_due)
    done = 0
    while max_batches is None or done < max_batches:
        with unit_of_work(engine) as session:
            erased = RetentionService(session, settings).step(run_id, batch)
        if not erased:
            break
        done += 1
        if progress is not None:
            progress(erased)
    else:
        with unit_of_work(engine) as session:
            row = RetentionService(session, settings).current() or row
            return Outcome(
                run_id, row.as_of, False, resumed, dict(row.counts or {}), {}, row.batches
            )
    with unit_of_work(engine) as session:
        row = RetentionService(session, settings).finish(run_id)
        return Outcome(
            run_id,
            row.as_of,
            False,
            resumed,
            dict(row.counts or {}),
            dict(row.held or {}),
            row.batches,
            row.audit_entry_id,
        )


def scheduled_step(session: Session, settings: Settings | None = None) -> int | None:
    """One unit of the scheduled run: start or resume, erase a batch, or finish (None)."""
    service = RetentionService(session, settings or get_settings())
    row, _ = service.start()
    erased = service.step(row.id)
    if erased:
        return erased
    service.finish(row.id)
    return None


def _report(results: Any) -> str | None:
    total = sum(results or [])
    return f"{total} records erased" if total else None


def job(settings: Settings) -> Job:
    """The schedule's retention job: up to 10,000 batches a run, one unit each."""
    return Job(
        "retention",
        float(settings.retention_interval),
        lambda session: scheduled_step(session, settings),
        report=_report,
        repeat=10_000,
    )

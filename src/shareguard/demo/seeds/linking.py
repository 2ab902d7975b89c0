"""The month's match runs, linked for real: the watch list against the partner's file.

A run is what ``matching.tasks.execute`` does, stage by stage, inside the build stage's one
unit of work (so the month's runs are in the database whole, or not at all): start, begin,
prepare (the watch list gated again, the partner file read in place), link with Splink on
DuckDB out of core, write the outputs, record (candidates stored, every match disclosed
through the door in batches at the run's replayed moment, so the over-30 pause refuses what
it covers).

The agreements cap a run (DVLA 5,000 matches, HMRC 10,000) and a day, so a month's list is
split into runs over parts of it (``RunOptions.person_ids``), one run a day, as an operator
would. The month's first run trains the model on the file; the other parts score with it
(``RunOptions.model_from``), as an operator reusing a model on the same file would. How many
parts is sized from the partner file's known truth (the synthetic world's
answer to "how many of our people are in this file?"), with headroom; the linkage itself
never sees the truth. The reviewers see it: it is how a synthetic reviewer tells a true match
from a false one (``is_true``).
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from shareguard.demo.seeds.plan import at
from shareguard.matching import RunOptions, RunService, link, write_outputs
from shareguard.storage.base import replay_clock

if TYPE_CHECKING:  # the builder imports this module: its type alone is needed here
    from shareguard.demo.seeds.build import Seeds

DVLA = "HO-DVLA-001"
HMRC = "HO-HMRC-001"
#: Matches one run may disclose (the agreement's per-run limit, less headroom for a month
#: whose file holds more of the list than the truth's count suggests).
RUN_SIZE = {DVLA: 4_000, HMRC: 8_500}


def runs_for(ref: str, expected: int) -> int:
    """How many runs a month's matching takes: enough that none passes the per-run limit."""
    return max(1, math.ceil(expected / RUN_SIZE[ref]))


def split(people: set[uuid.UUID], parts: int, key: str) -> list[list[uuid.UUID]]:
    """The list in ``parts`` parts of about the same size, the same for the same ``key``."""
    ordered = sorted(people)
    random.Random(key).shuffle(ordered)
    return [sorted(ordered[k::parts]) for k in range(parts)]


def run_month(
    session: Session,
    seeds: Seeds,
    ref: str,
    dataset_id: uuid.UUID,
    days: list[date],
    people: set[uuid.UUID],
    expected: int,
    stage: str,
) -> None:
    """The month's runs of ``ref`` over ``people`` (the active list), one a day from ``days``."""
    service = RunService(session)
    agreement_id = seeds.world.agreements[ref]
    parts = split(people, runs_for(ref, expected), f"{seeds.plan.seed}:{stage}")
    step = max(1, len(days) // len(parts))
    trained: uuid.UUID | None = None
    for k, part in enumerate(parts):
        day = days[min(k * step, len(days) - 1)]

        def say(_stage: str, done: float, k: int = k) -> None:
            seeds.progress(stage, round(100 * (k + done) / len(parts)), 100)

        with replay_clock(at(day, 2)):
            run = service.start_run(
                agreement_id,
                dataset_id,
                seeds.staff_principal("caseworker", k),
                RunOptions(person_ids=frozenset(part), model_from=trained),
            )
            service.begin(run.id)
            inputs = service.prepare(run.id)
            pairs, model = link(inputs, say)
            write_outputs(inputs.out, pairs, model)
            service.record(run.id, inputs, pairs)
            # The month's first run trains on the file; the others score with its model.
            trained = trained or (run.id if model else None)
        seeds.progress(stage, round(100 * (k + 1) / len(parts)), 100)


# -- the known truth -----------------------------------------------------------------------
def write_truth(path: Path, record_ids: list[str], person_ids: list[str]) -> None:
    pq.write_table(pa.table({"record_id": record_ids, "person_id": person_ids}), path)


def read_truth(path: Path) -> dict[str, str]:
    """record id → person id for a partner file's copies of pool members."""
    if not path.exists():
        return {}
    table = pq.read_table(path)
    return dict(zip(table["record_id"].to_pylist(), table["person_id"].to_pylist(), strict=True))


def is_true(truth: dict[str, str], partner_record_id: str, person_id: uuid.UUID) -> bool:
    """Whether a candidate pairs a record with the person it is a copy of."""
    return truth.get(partner_record_id) == str(person_id)

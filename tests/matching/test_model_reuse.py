"""Reusing a trained model: a run scores with an earlier run's model instead of training,
records which model it used, and is refused a model from another agreement (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry
from shareguard.errors import InvalidInput
from shareguard.matching import ImportService, RunOptions, RunService, tasks
from shareguard.matching.models import MatchRun, RunState
from tests.factories import TestWorld
from tests.matching.test_runs import Scenario

MAPPING = [
    "record_id=record_id",
    "first_name=first_name",
    "surname=surname",
    "date_of_birth=date_of_birth",
    "postcode=postcode",
]


pytestmark = pytest.mark.usefixtures("data_dir")


def _dataset(sc: Scenario, agreement_id: uuid.UUID | None = None) -> uuid.UUID:
    return (
        ImportService(sc.world.session)
        .import_dataset(
            sc.partner_file, MAPPING, agreement_id or sc.agreement_id, sc.world.principals["agency"]
        )
        .id
    )


def _run(sc: Scenario, name: str, **options: object) -> MatchRun:
    """A run on a freshly imported copy of the partner file, executed as a job would."""
    session = sc.world.session
    run = RunService(session).start_run(
        sc.agreement_id,
        _dataset(sc),
        sc.world.principals["officer"],
        RunOptions(threshold=0.9, review_threshold=0.3, out_dir=Path(name), **options),  # type: ignore[arg-type]
    )
    session.commit()
    tasks.execute(run.id, engine=session.get_bind())
    session.expire_all()
    done = RunService(session).run(run.id)
    assert done.state == RunState.SUCCEEDED, done.error
    return done


def _pairs(run: MatchRun) -> pd.DataFrame:
    return pd.read_parquet(Path(run.out_dir) / "matches.parquet")


def test_a_run_scores_with_an_earlier_runs_model_and_records_which(
    world: TestWorld, session: Session, tmp_path: Path
) -> None:
    sc = Scenario(world, tmp_path)
    trained = _run(sc, "trained")
    reused = _run(sc, "reused", model_from=trained.id)

    # The same model on the same data gives the same pairs, scores and explanations.
    assert len(_pairs(trained)) > 0
    pd.testing.assert_frame_equal(_pairs(reused), _pairs(trained))
    assert reused.counts["disclosed"] == trained.counts["disclosed"] > 0
    # The run keeps the model it scored with, and says whose it was.
    saved = json.loads((Path(reused.out_dir) / "model.json").read_text())
    assert saved == json.loads((Path(trained.out_dir) / "model.json").read_text())
    assert reused.model_run_id == trained.id and trained.model_run_id is None
    starts = {
        e.details["run_id"]: e.details
        for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "matching.run_start")
        )
    }
    assert starts[str(reused.id)]["model_from"] == str(trained.id)
    assert starts[str(trained.id)]["model_from"] is None


def test_a_model_from_another_agreement_or_no_finished_run_is_refused(
    world: TestWorld, session: Session, tmp_path: Path
) -> None:
    sc = Scenario(world, tmp_path)
    trained = _run(sc, "trained")
    other = world.agreement(bulk=True)
    dataset = _dataset(sc, other)
    session.commit()
    runs_before = session.scalar(select(MatchRun.id).order_by(MatchRun.created_at.desc()))

    def start(agreement_id: uuid.UUID, dataset_id: uuid.UUID, model: uuid.UUID) -> None:
        RunService(session).start_run(
            agreement_id, dataset_id, world.principals["officer"], RunOptions(model_from=model)
        )

    with pytest.raises(InvalidInput, match="another agreement") as refused:
        start(other, dataset, trained.id)
    assert refused.value.field == "model_from"
    with pytest.raises(InvalidInput, match="not found"):
        start(sc.agreement_id, _dataset(sc), uuid.uuid4())
    # A run still queued has no trained model to give.
    queued = RunService(session).start_run(
        sc.agreement_id, _dataset(sc), world.principals["officer"], RunOptions()
    )
    with pytest.raises(InvalidInput, match="queued"):
        start(sc.agreement_id, _dataset(sc), queued.id)
    session.rollback()
    # Nothing was started by the refusals.
    assert session.scalar(select(MatchRun.id).order_by(MatchRun.created_at.desc())) == runs_before


@pytest.mark.parametrize("damage", ["{not json", "[1, 2]", '{"comparisons": []}', "\udcff"])
def test_a_damaged_saved_model_is_refused_with_a_clear_error(
    world: TestWorld, session: Session, tmp_path: Path, damage: str
) -> None:
    sc = Scenario(world, tmp_path)
    trained = _run(sc, "trained")
    model = Path(trained.out_dir) / "model.json"
    model.write_bytes(damage.encode("utf-8", "surrogateescape"))
    with pytest.raises(InvalidInput, match="cannot be read") as refused:
        RunService(session).start_run(
            sc.agreement_id,
            _dataset(sc),
            world.principals["officer"],
            RunOptions(model_from=trained.id),
        )
    assert refused.value.field == "model_from"
    model.unlink()
    with pytest.raises(InvalidInput, match="left no trained model"):
        RunService(session).start_run(
            sc.agreement_id,
            _dataset(sc),
            world.principals["officer"],
            RunOptions(model_from=trained.id),
        )

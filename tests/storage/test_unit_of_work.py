"""The unit of work's promises, each broken on purpose midway: nothing half-done remains.

Services never commit; the boundary (here ``unit_of_work``, as a CLI command or a job uses
it) commits on success and rolls back on error, except that a refusal raised through
``errors.keep_audit`` keeps its audit entry, and only that.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from shareguard.audit.models import AuditEntry
from shareguard.checks import AttributeQuery, CheckService, share_code
from shareguard.checks.answers import CheckAnswers
from shareguard.checks.models import Case, Check, CheckFailure
from shareguard.corrections import service as correction_service
from shareguard.corrections.models import (
    Correction,
    PersonNotice,
    RectificationNotice,
    WebhookDelivery,
)
from shareguard.corrections.service import CorrectionService
from shareguard.errors import RateLimited, Refused
from shareguard.matching import ImportService, RunOptions, RunService, datasets, runs, tasks
from shareguard.matching.models import Candidate, MatchRun, RunState
from shareguard.policy.models import Disclosure
from shareguard.status import StatusService
from shareguard.status.models import StatusRecord
from shareguard.storage.db import on_commit, on_rollback, unit_of_work
from tests import factories
from tests.checks.test_checks import DL_ITEMS, DOB, RTW_ITEMS, code_for
from tests.corrections.scenario import build
from tests.factories import TestWorld
from tests.matching.test_runs import Scenario

pytestmark = pytest.mark.usefixtures("data_dir")


class Broken(RuntimeError):
    """The failure injected midway."""


def counts(engine: Engine, *models: Any) -> tuple[int, ...]:
    """Rows per model as committed (a fresh unit of work, so nothing uncommitted is seen)."""
    with unit_of_work(engine) as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0) for m in models)


def audit_ids(engine: Engine) -> set[uuid.UUID]:
    """Every audit entry's id as committed (entries get numbers later, at integration)."""
    with unit_of_work(engine) as s:
        return set(s.scalars(select(AuditEntry.id)))


def audit_actions(engine: Engine, before: set[uuid.UUID]) -> list[str]:
    """Actions of the entries committed since ``before`` was taken, sorted."""
    with unit_of_work(engine) as s:
        rows = s.execute(select(AuditEntry.id, AuditEntry.action)).all()
    return sorted(action for entry_id, action in rows if entry_id not in before)


def checked_person(world: TestWorld) -> uuid.UUID:
    p = factories.person(world, nationality="RUS", commit=False)
    factories.status_record(world, p.id)
    return p.id


# a check: its answer, disclosure record, audit entry and check row ---------------------------


def test_a_check_failing_midway_leaves_no_disclosure_audit_entry_or_check(
    world: TestWorld, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.agreement(purposes=["right_to_work"], data_items=RTW_ITEMS)
    pid = checked_person(world)
    _, code = code_for(world, StatusService(world.session).person(pid))
    agency = world.principals["agency"]
    before = counts(engine, Check, Disclosure, AuditEntry)

    def broken(self: CheckAnswers, check: Check) -> None:
        raise Broken("the check row could not be written")

    # The disclosure and its audit entry are flushed before the check row fails.
    monkeypatch.setattr(CheckAnswers, "store", broken)
    with pytest.raises(Broken), unit_of_work(engine) as s:
        CheckService(s).share_code_check(agency, code, DOB, "right_to_work")
    assert counts(engine, Check, Disclosure, AuditEntry) == before

    monkeypatch.undo()
    with unit_of_work(engine) as s:
        out = CheckService(s).share_code_check(agency, code, DOB, "right_to_work")
        assert out.outcome == "confirmed"
    checks, disclosures, entries = counts(engine, Check, Disclosure, AuditEntry)
    assert (checks, disclosures) == (before[0] + 1, before[1] + 1)
    assert entries == before[2] + 1  # the disclosure's entry, committed with it


# a refusal keeps its audit entry, and nothing else ------------------------------------------


def test_a_policy_refusal_keeps_only_its_audit_entry(world: TestWorld, engine: Engine) -> None:
    world.agreement(purposes=["bank_account"], data_items=DL_ITEMS)
    pid = checked_person(world)
    StatusService(world.session).person(pid).locks = ["attribute_checks"]
    world.session.commit()
    logged = audit_ids(engine)
    before = counts(engine, Check, Disclosure, Case)
    query = AttributeQuery("bank_account", "Aleksandr", "Petrov", DOB)
    with pytest.raises(Refused), unit_of_work(engine) as s:
        CheckService(s).attribute_check(world.principals["agency"], query)
    assert counts(engine, Check, Disclosure, Case) == before
    assert audit_actions(engine, logged) == ["policy.deny"]


def test_a_throttled_check_keeps_only_its_audit_entry(
    world: TestWorld, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.agreement(purposes=["right_to_work"], data_items=RTW_ITEMS)
    monkeypatch.setattr(share_code, "ORG_FAILURES", 1)
    agency = world.principals["agency"]
    with unit_of_work(engine) as s:
        assert CheckService(s).share_code_check(agency, "AAAAAAAAC", DOB, "right_to_work").outcome
    logged = audit_ids(engine)
    before = counts(engine, Check, CheckFailure, Disclosure)
    with pytest.raises(RateLimited), unit_of_work(engine) as s:
        CheckService(s).share_code_check(agency, "CCCCCCCCC", DOB, "right_to_work")
    assert counts(engine, Check, CheckFailure, Disclosure) == before
    assert audit_actions(engine, logged) == ["check.rate_limited"]


# a correction and its rectification notices ------------------------------------------------


def test_a_correction_failing_midway_supersedes_nothing_and_sends_no_notice(
    world: TestWorld, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = build(world)  # three recipients; the council acted on the wrong record
    world.session.rollback()  # end the read: SQLite transactions here take the write lock
    cw, cw2 = world.principals["caseworker"], world.principals["caseworker2"]
    with unit_of_work(engine) as s:
        correction_id = (
            CorrectionService(s)
            .correct(
                cw,
                target_kind="status_record",
                target_id=story.status.id,
                reason="Leave was granted in 1973; the record was keyed in error",
                evidence_ref="LANDING-CARD-1973",
                changes={"kind": "settled", "may_work": True},
            )
            .id
        )
    models = (StatusRecord, RectificationNotice, PersonNotice, WebhookDelivery)
    before, logged = counts(engine, *models), audit_ids(engine)
    real = correction_service.append_many

    def broken(session: Session, records: Any) -> Any:
        # The last step: the new record and the notices are flushed, the entries not yet.
        if any(r.action == "correction.apply" for r in records):
            raise Broken("the log could not be written")
        return real(session, records)

    monkeypatch.setattr(correction_service, "append_many", broken)
    with pytest.raises(Broken), unit_of_work(engine) as s:
        CorrectionService(s).approve(correction_id, cw2)
    assert counts(engine, *models) == before
    assert audit_actions(engine, logged) == []
    with unit_of_work(engine) as s:
        assert s.get(Correction, correction_id).state == "pending_approval"  # type: ignore[union-attr]
        history = StatusService(s).status_history(story.person.id)
        assert [r.id for r in history] == [story.status.id]

    monkeypatch.undo()
    with unit_of_work(engine) as s:
        CorrectionService(s).approve(correction_id, cw2)
    records, notices, told, _ = counts(engine, *models)
    assert (records, notices, told) == (before[0] + 1, before[1] + 3, before[2] + 1)


# a match run: its candidates, disclosures and counts -----------------------------------------


def _started(sc: Scenario, tmp_path: Path) -> uuid.UUID:
    dataset = ImportService(sc.world.session).import_dataset(
        sc.partner_file,
        [f"{c}={c}" for c in ("record_id", "first_name", "surname", "date_of_birth", "postcode")],
        sc.agreement_id,
        sc.world.principals["agency"],
    )
    run = RunService(sc.world.session).start_run(
        sc.agreement_id,
        dataset.id,
        sc.world.principals["officer"],
        RunOptions(threshold=0.9, review_threshold=0.3, out_dir=tmp_path / "var" / "run"),
    )
    sc.world.session.commit()  # queued, as the request that starts a run commits it
    return run.id


def _fake_link(seen: list[tuple[float, int]], engine: Engine, run_id: uuid.UUID) -> Any:
    """Linking without Splink: each watch-list person pairs with one partner record. Reports
    progress, and records what another session sees meanwhile."""

    def link(inputs: Any, say: Any, spark: Any = None) -> tuple[pd.DataFrame, dict[str, Any]]:
        say("linking: predicting", 0.5)
        with unit_of_work(engine) as s:
            run = s.get(MatchRun, run_id)
            assert run is not None
            stored = s.scalar(
                select(func.count()).select_from(Candidate).where(Candidate.run_id == run_id)
            )
            seen.append((run.progress, int(stored or 0)))
        people = sorted({u.split("~")[0] for u in inputs.watch["unique_id"]})
        records = list(inputs.partner["unique_id"])[: len(people)]
        pairs = pd.DataFrame(
            {
                "watchlist_id": people[: len(records)],
                "partner_id": records,
                "match_probability": 0.99,
                "match_weight": 12.0,
                "explanation": "[]",
            }
        )
        pairs["band"] = "match"
        return pairs, {}

    return link


def test_a_run_failing_midway_records_no_candidate_and_no_disclosure(
    world: TestWorld, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = Scenario(world, tmp_path)
    run_id = _started(sc, tmp_path)
    seen: list[tuple[float, int]] = []
    monkeypatch.setattr(tasks, "link", _fake_link(seen, engine, run_id))
    real_append = runs.append

    def broken(session: Session, record: Any) -> Any:
        if record.action == "matching.run_finish":  # candidates and disclosures are flushed
            raise Broken("the log could not be written")
        return real_append(session, record)

    monkeypatch.setattr(runs, "append", broken)
    logged = audit_ids(engine)
    before = counts(engine, Candidate, Disclosure)
    with pytest.raises(Exception, match="failed"):
        tasks.execute(run_id, engine=engine)
    assert counts(engine, Candidate, Disclosure) == before
    assert "disclosure.match_result" not in audit_actions(engine, logged)
    with unit_of_work(engine) as s:
        run = s.get(MatchRun, run_id)
        assert run is not None and run.state == RunState.FAILED and run.counts == {}
        assert run.error.startswith("Broken")  # it failed where it was broken, after disclosing
    assert not (tmp_path / "var" / "run" / "partner_results.json").exists()
    # Progress was recorded (and seen by others) while linking, before anything was stored.
    assert seen == [(0.5, 0)]


def test_a_run_records_candidates_disclosures_and_counts_together(
    world: TestWorld, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = Scenario(world, tmp_path)
    run_id = _started(sc, tmp_path)
    seen: list[tuple[float, int]] = []
    monkeypatch.setattr(tasks, "link", _fake_link(seen, engine, run_id))
    logged = audit_ids(engine)
    done = tasks.execute(run_id, engine=engine)
    assert done.state == RunState.SUCCEEDED and seen == [(0.5, 0)]
    with unit_of_work(engine) as s:
        stored = list(s.scalars(select(Candidate).where(Candidate.run_id == run_id)))
        disclosed = [c for c in stored if c.disclosure_id is not None]
        assert len(stored) == done.counts["candidates"] > 0
        assert len(disclosed) == done.counts["disclosed"] > 0
    entries = audit_actions(engine, logged)
    assert entries.count("disclosure.match_result") == len(disclosed)
    assert entries.count("matching.run_finish") == 1
    assert (tmp_path / "var" / "run" / "partner_results.json").exists()


# work outside the database follows the unit of work ------------------------------------------


def test_outside_work_follows_the_commit_or_is_undone_with_the_rollback(
    engine: Engine, tmp_path: Path
) -> None:
    kept, undone = tmp_path / "kept", tmp_path / "undone"
    with unit_of_work(engine) as s:
        s.execute(select(1))
        on_commit(s, kept.touch)
        on_rollback(s, undone.touch)
    assert kept.exists() and not undone.exists()
    kept.unlink()
    with pytest.raises(Broken), unit_of_work(engine) as s:
        s.execute(select(1))
        on_commit(s, kept.touch)
        on_rollback(s, undone.touch)
        raise Broken
    assert undone.exists() and not kept.exists()


def test_an_import_whose_unit_of_work_fails_keeps_no_file(
    world: TestWorld, engine: Engine, tmp_path: Path
) -> None:
    sc = Scenario(world, tmp_path)
    folder = Path(datasets.data_dir()) / "datasets"
    with pytest.raises(Broken), unit_of_work(engine) as s:
        ImportService(s).import_dataset(
            sc.partner_file,
            [f"{c}={c}" for c in ("record_id", "first_name", "surname", "date_of_birth")],
            sc.agreement_id,
            world.principals["agency"],
        )
        assert list(folder.glob("*.parquet"))
        raise Broken
    assert list(folder.glob("*.parquet")) == []

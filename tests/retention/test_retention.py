"""Retention on SQLite and PostgreSQL: exactly what is past its period goes, nothing under a
legal hold, a dry run writes nothing, a stopped run resumes, and the audit log still verifies,
proves and answers "who checked my data" with the deletion line."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shareguard.accounts.principal import Principal
from shareguard.audit.models import AuditEntry
from shareguard.audit.service import AuditService
from shareguard.checks import CheckService
from shareguard.checks.models import Check
from shareguard.cli import app
from shareguard.config import Settings, get_settings
from shareguard.errors import Forbidden, InvalidInput
from shareguard.exchange.inbound import InboundService
from shareguard.exchange.models import InboundRecord
from shareguard.matching.models import Candidate, MatchRun, PartnerDataset, RunState
from shareguard.policy.models import Disclosure
from shareguard.retention import tasks
from shareguard.retention.models import Erasure, LegalHold, RetentionRun
from shareguard.retention.service import RetentionService
from shareguard.status.models import ShareCode
from shareguard.storage import db
from shareguard.storage.base import replay_clock, utcnow
from tests import factories
from tests.factories import integrated

RTW_ITEMS = ["name", "photo_ref", "may_work", "work_conditions", "valid_until"]
DOB = factories.PERSON_DOB
#: The fixed clock the runs judge by.
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=400)  # past "P1Y after check"
RECENT = NOW - timedelta(days=30)  # within it
#: The test agreements are in force over the whole replayed story.
IN_FORCE = {"start_date": date(2027, 1, 1), "review_date": date(2031, 1, 1)}


def _check(world, agreement_ref: str, given: str, at: datetime):  # type: ignore[no-untyped-def]
    """A person with leave to work, a right-to-work share code and a check of it at ``at``."""
    with replay_clock(at):
        p = factories.person(world, given, "Exemplar", DOB, commit=False)
        factories.status_record(world, p.id, "limited_leave", commit=False)
        _row, code = factories.share_code(world, p.id, days=30)
        result = CheckService(world.session).share_code_check(
            world.principals["agency"], code, DOB, "right_to_work"
        )
        world.session.commit()
    assert result.outcome == "confirmed"
    return p.id, result.check.id, result.check.audit_entry_id


@pytest.fixture
def story(world, settings: Settings):  # type: ignore[no-untyped-def]
    """Three right-to-work checks: two old (one person then held), one recent."""
    ref = "T-RTW-RET"
    world.agreement(reference=ref, purposes=["right_to_work"], data_items=RTW_ITEMS, **IN_FORCE)
    old = _check(world, ref, "Olda", OLD)
    held = _check(world, ref, "Helda", OLD)
    recent = _check(world, ref, "Recenta", RECENT)
    RetentionService(world.session, settings).place_hold(
        world.principals["caseworker"], "litigation (test)", person_id=held[0]
    )
    world.session.commit()
    return {"ref": ref, "old": old, "held": held, "recent": recent}


def _snapshot(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    session.expire_all()
    out = {
        "checks_with_person": session.scalar(
            select(func.count()).select_from(Check).where(Check.person_id.is_not(None))
        ),
        "disclosures_with_subject": session.scalar(
            select(func.count()).select_from(Disclosure).where(Disclosure.subject_ref.is_not(None))
        ),
        "share_codes": session.scalar(select(func.count()).select_from(ShareCode)),
        "erasures": session.scalar(select(func.count()).select_from(Erasure)),
        "runs": session.scalar(select(func.count()).select_from(RetentionRun)),
        "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
    }
    session.rollback()
    return {k: int(v or 0) for k, v in out.items()}


def test_a_run_erases_exactly_what_is_past_its_period_and_nothing_held(
    story, world, engine, settings: Settings
) -> None:
    s = world.session
    outcome = tasks.run(engine, at=NOW, settings=settings)
    assert outcome.erased == {story["ref"]: {"check": 1}, "-": {"share_code": 1}}
    assert outcome.held == {story["ref"]: {"check": 1}, "-": {"share_code": 1}}

    s.expire_all()
    old_check = s.get(Check, story["old"][1])
    held_check = s.get(Check, story["held"][1])
    recent_check = s.get(Check, story["recent"][1])
    assert old_check is not None and held_check is not None and recent_check is not None
    # The old check is pseudonymised: the reference, time and outcome stay for reports.
    assert old_check.person_id is None and old_check.score is None
    assert old_check.outcome == "confirmed"
    assert held_check.person_id == story["held"][0]
    assert recent_check.person_id == story["recent"][0]
    old_disclosure = s.get(Disclosure, old_check.disclosure_id)
    assert old_disclosure is not None and old_disclosure.subject_ref is None
    assert old_disclosure.record_refs == []
    held_disclosure = s.get(Disclosure, held_check.disclosure_id)
    assert held_disclosure is not None and held_disclosure.subject_ref == str(story["held"][0])
    # The old person's expired code is deleted; the held person's stays; the recent one is live.
    holders = set(s.scalars(select(ShareCode.person_id)))
    assert holders == {story["held"][0], story["recent"][0]}
    s.rollback()

    # Run again at the same clock: nothing more to do.
    again = tasks.run(engine, at=NOW, settings=settings)
    assert again.total == 0


def test_the_audit_log_verifies_proves_and_says_what_was_deleted(
    story, world, engine, settings: Settings
) -> None:
    s = world.session
    entries_before = s.scalar(select(func.count()).select_from(AuditEntry))
    outcome = tasks.run(engine, at=NOW, settings=settings)
    integrated(s)
    audit = AuditService(s, settings)
    audit.checkpoint()
    s.commit()
    report = audit.verify()
    assert report.ok, report.problem
    # Nothing was removed from the log: one entry was added, the run's own.
    assert s.scalar(select(func.count()).select_from(AuditEntry)) == entries_before + 1
    old_entry = s.get(AuditEntry, story["old"][2])
    assert old_entry is not None and old_entry.seq is not None
    bundle = audit.inclusion(old_entry.seq)
    assert bundle["entry"]["subject_ref"] == str(story["old"][0])

    # Who checked my data, as the person sees it.
    me = _person_principal(story["old"][0])
    items = audit.access_log(story["old"][0], me)
    lines = [i.deleted for i in items if i.entry_id == story["old"][2]]
    day = utcnow().date().isoformat()
    assert lines == [f"details deleted on {day} under the retention rule of {story['ref']}"]
    held_items = audit.access_log(story["held"][0], _person_principal(story["held"][0]))
    assert all(i.deleted is None for i in held_items)

    # The run is audited with counts per agreement and kind, and no personal data.
    run_entry = s.get(AuditEntry, outcome.audit_entry_id)
    assert run_entry is not None and run_entry.action == "retention.run"
    assert run_entry.details["erased"] == {story["ref"]: {"check": 1}, "-": {"share_code": 1}}
    text = json.dumps(run_entry.details)
    for pid, _check_id, _entry in (story["old"], story["held"], story["recent"]):
        assert str(pid) not in text
    assert run_entry.subject_ref is None
    s.rollback()


def test_the_person_sees_the_deletion_line_in_the_api(
    story, world, engine, settings: Settings, client
) -> None:
    tasks.run(engine, at=NOW, settings=settings)
    token = world.keys["auditor"]
    got = client.get(
        f"/api/v1/persons/{story['old'][0]}/access-log",
        headers=factories.bearer(token),
    )
    assert got.status_code == 200
    deleted = [i["deleted"] for i in got.json()["items"] if i["deleted"]]
    assert deleted and deleted[0].startswith("details deleted on ")
    assert deleted[0].endswith(f"under the retention rule of {story['ref']}")


def test_a_dry_run_writes_nothing(story, world, engine, settings: Settings) -> None:
    before = _snapshot(world.session)
    outcome = tasks.run(engine, at=NOW, dry_run=True, settings=settings)
    assert outcome.dry_run and outcome.run_id is None
    assert outcome.erased == {story["ref"]: {"check": 1}, "-": {"share_code": 1}}
    assert outcome.held == {story["ref"]: {"check": 1}, "-": {"share_code": 1}}
    assert _snapshot(world.session) == before


def test_a_stopped_run_resumes_with_its_own_clock(story, world, engine, settings: Settings) -> None:
    # A second old check, so the run has more than one batch of one.
    ref = story["ref"]
    _check(world, ref, "Secunda", OLD)
    first = tasks.run(engine, at=NOW, settings=settings, batch=1, max_batches=1)
    assert first.total == 1 and first.audit_entry_id is None
    s = world.session
    s.expire_all()
    running = s.scalars(select(RetentionRun)).one()
    assert running.state == "running"
    s.rollback()
    # Resumed later, "now" has moved on: the run still judges by the clock it started with.
    second = tasks.run(engine, at=NOW + timedelta(days=3650), settings=settings, batch=1)
    assert second.resumed and second.run_id == first.run_id
    assert second.as_of == NOW
    assert second.erased == {ref: {"check": 2}, "-": {"share_code": 2}}
    s.expire_all()
    assert s.scalar(select(func.count()).select_from(RetentionRun)) == 1
    actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.action == "retention.run")))
    assert actions == ["retention.run"]
    s.rollback()


def test_releasing_a_hold_lets_the_next_run_erase(story, world, engine, settings: Settings) -> None:
    s = world.session
    tasks.run(engine, at=NOW, settings=settings)
    hold = s.scalars(select(LegalHold)).one()
    service = RetentionService(s, settings)
    with pytest.raises(InvalidInput):
        service.release_hold(hold.id, world.principals["officer"], "  ")
    service.release_hold(hold.id, world.principals["officer"], "case closed (test)")
    s.commit()
    outcome = tasks.run(engine, at=NOW, settings=settings)
    assert outcome.erased == {story["ref"]: {"check": 1}, "-": {"share_code": 1}}
    s.expire_all()
    held_check = s.get(Check, story["held"][1])
    assert held_check is not None and held_check.person_id is None
    actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("retention.%"))))
    assert actions == {"retention.hold.place", "retention.hold.release", "retention.run"}
    s.rollback()


def test_a_hold_on_an_agreement_keeps_all_of_it(story, world, engine, settings: Settings) -> None:
    s = world.session
    RetentionService(s, settings).place_hold(
        world.principals["officer"], "inquiry (test)", agreement=story["ref"]
    )
    s.commit()
    outcome = tasks.run(engine, at=NOW, settings=settings)
    assert story["ref"] not in outcome.erased
    assert outcome.held[story["ref"]] == {"check": 2}
    s.expire_all()
    old_check = s.get(Check, story["old"][1])
    assert old_check is not None and old_check.person_id == story["old"][0]
    s.rollback()


def test_only_caseworkers_and_officers_place_holds(story, world, settings: Settings) -> None:
    service = RetentionService(world.session, settings)
    with pytest.raises(Forbidden):
        service.place_hold(world.principals["reviewer"], "no", person_id=story["old"][0])
    with pytest.raises(InvalidInput):
        service.place_hold(
            world.principals["caseworker"],
            "both",
            person_id=story["old"][0],
            agreement=story["ref"],
        )
    world.session.rollback()


def _person_principal(person_id: uuid.UUID) -> Principal:
    return Principal(organisation_id=None, person_id=person_id, roles=frozenset({"person"}))


# match runs and their files -----------------------------------------------------------------


def test_match_run_files_and_datasets_go_after_their_periods(
    world, engine, settings: Settings
) -> None:
    s = world.session
    ref = "T-BULK-RET"
    aid = world.agreement(reference=ref, bulk=True, limit_per_run=100)
    p = factories.person(world, "Matcha", "Exemplar", DOB)
    folder = settings.data_dir / "matching"
    (folder / "datasets").mkdir(parents=True)
    runs = []
    for label, at in (("old", OLD), ("recent", RECENT)):
        data = folder / "datasets" / f"{label}.parquet"
        quarantine = folder / "datasets" / f"{label}.quarantine.csv"
        data.write_text("rows")
        quarantine.write_text("line,column,reason")
        out = folder / "runs" / label
        out.mkdir(parents=True)
        (out / "matches.parquet").write_text("pairs")
        ds = PartnerDataset(
            agreement_id=aid,
            name=label,
            source_format="csv",
            path=str(data),
            quarantine_path=str(quarantine),
            sha256="0" * 64,
            created_at=at,
        )
        s.add(ds)
        s.flush()
        run = MatchRun(
            agreement_id=aid,
            dataset_id=ds.id,
            state=RunState.SUCCEEDED,
            out_dir=str(out),
            created_at=at,
            finished_at=at,
        )
        s.add(run)
        s.flush()
        for n in range(2):
            s.add(
                Candidate(
                    run_id=run.id,
                    person_id=p.id,
                    partner_record_id=f"P-{label}-{n}",
                    match_probability=0.99,
                    match_weight=9.0,
                    band="match",
                    explanation=[{"comparison": "name", "level": "exact"}],
                )
            )
        runs.append((run.id, ds.id, data, quarantine, out))
    s.commit()

    outcome = tasks.run(engine, at=NOW, settings=settings)
    assert outcome.erased[ref] == {"match_run": 1, "partner_dataset": 1}
    (old_run, old_ds, old_data, old_q, old_out), (new_run, _, new_data, new_q, new_out) = runs
    assert not old_out.exists() and not old_data.exists() and not old_q.exists()
    assert new_out.exists() and new_data.exists() and new_q.exists()
    s.expire_all()
    run_row, ds_row = s.get(MatchRun, old_run), s.get(PartnerDataset, old_ds)
    assert run_row is not None and run_row.out_dir == ""
    assert ds_row is not None and ds_row.path == "" and ds_row.quarantine_path is None
    old_candidates = list(s.scalars(select(Candidate).where(Candidate.run_id == old_run)))
    assert all(c.explanation == [] for c in old_candidates)
    assert all(c.partner_record_id.startswith("erased-") for c in old_candidates)
    kept = list(s.scalars(select(Candidate).where(Candidate.run_id == new_run)))
    assert {c.partner_record_id for c in kept} == {"P-recent-0", "P-recent-1"}
    s.rollback()


def test_a_hold_on_anyone_in_a_run_keeps_its_files(world, engine, settings: Settings) -> None:
    s = world.session
    aid = world.agreement(reference="T-BULK-HOLD", bulk=True, limit_per_run=100)
    p = factories.person(world, "Holda", "Exemplar", DOB)
    out = settings.data_dir / "matching" / "runs" / "held"
    out.mkdir(parents=True)
    (out / "matches.csv").write_text("pairs")
    ds = PartnerDataset(
        agreement_id=aid, name="d", source_format="csv", path="", sha256="0" * 64, created_at=RECENT
    )
    s.add(ds)
    s.flush()
    run = MatchRun(
        agreement_id=aid,
        dataset_id=ds.id,
        state=RunState.SUCCEEDED,
        out_dir=str(out),
        created_at=OLD,
        finished_at=OLD,
    )
    s.add(run)
    s.flush()
    s.add(
        Candidate(
            run_id=run.id,
            person_id=p.id,
            partner_record_id="X",
            match_probability=0.9,
            match_weight=5.0,
            band="match",
        )
    )
    s.commit()
    RetentionService(s, settings).place_hold(world.principals["caseworker"], "held", person_id=p.id)
    s.commit()
    outcome = tasks.run(engine, at=NOW, settings=settings)
    assert "T-BULK-HOLD" not in outcome.erased
    assert outcome.held["T-BULK-HOLD"] == {"match_run": 1}
    assert (out / "matches.csv").exists()


def test_files_outside_the_data_directory_are_left_alone(
    world, engine, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    s = world.session
    aid = world.agreement(reference="T-BULK-OUT", bulk=True, limit_per_run=100)
    elsewhere: Path = tmp_path_factory.mktemp("elsewhere") / "data.parquet"
    elsewhere.write_text("not ours")
    s.add(
        PartnerDataset(
            agreement_id=aid,
            name="d",
            source_format="csv",
            path=str(elsewhere),
            sha256="0" * 64,
            created_at=OLD,
        )
    )
    s.commit()
    tasks.run(engine, at=NOW, settings=settings)
    assert elsewhere.exists()


# records partners send in -------------------------------------------------------------------


def test_inbound_records_lose_their_data_after_the_period(xw, engine, settings: Settings) -> None:
    s = xw.session
    partner = xw.w.principals["agency"]
    factories.inbound_agreement(xw.w, "Test Agency", reference="T-IN-RET", **IN_FORCE)
    ids = []
    # The factories' rule for records received is two years.
    for at, address in ((NOW - timedelta(days=3 * 365), "1 Test Row"), (RECENT, "2 Test Row")):
        with replay_clock(at):
            row = InboundService(s).submit_record(
                partner,
                agreement="T-IN-RET",
                data={"name": "Testa Exemplar", "date_of_birth": "1985-05-05", "address": address},
            )
            s.commit()
        ids.append(row.id)
    old_id, new_id = ids
    outcome = tasks.run(engine, at=NOW, settings=settings)
    assert outcome.erased["T-IN-RET"] == {"inbound": 1}
    s.expire_all()
    old_row, new_row = s.get(InboundRecord, old_id), s.get(InboundRecord, new_id)
    assert old_row is not None and new_row is not None
    assert old_row.data == {} and old_row.person_id is None
    assert new_row.data.get("address") == "2 Test Row"
    s.rollback()


def test_a_run_stopped_from_the_command_line_says_how_to_resume_and_resumes(
    story, world, engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(world, story["ref"], "Secunda", OLD)
    monkeypatch.setattr(db, "get_engine", lambda: engine)
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHAREGUARD_MODE", "test")
    get_settings.cache_clear()
    real_step = RetentionService.step
    calls = []

    def interrupted(self, run_id, limit=None):  # type: ignore[no-untyped-def]
        calls.append(run_id)
        if len(calls) == 2:  # the operator presses Ctrl-C during the second batch
            raise KeyboardInterrupt
        return real_step(self, run_id, limit)

    monkeypatch.setattr(RetentionService, "step", interrupted)
    runner = CliRunner()
    at = NOW.isoformat()
    r = runner.invoke(app, ["retention", "run", "--at", at, "--batch", "1"])
    assert r.exit_code == 130, r.output
    assert "stopped: 1 records erased so far" in r.output
    assert f"resumes run {calls[0]}" in r.output
    monkeypatch.setattr(RetentionService, "step", real_step)
    r = runner.invoke(app, ["retention", "run", "--batch", "1", "--json"])
    get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["resumed"] is True and out["run_id"] == str(calls[0])
    assert out["erased"] == {story["ref"]: {"check": 2}, "-": {"share_code": 2}}

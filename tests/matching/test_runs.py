"""Match runs end to end on SQLite and PostgreSQL: the gate, the one door, the audit log,
review before any adverse action."""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry
from shareguard.errors import Forbidden, Refused
from shareguard.matching import (
    ImportService,
    ReviewService,
    RunOptions,
    RunService,
    WatchlistService,
    tasks,
)
from shareguard.matching.models import Candidate, EntryState, RunState
from shareguard.matching.synth import generate
from shareguard.status import StatusService
from shareguard.status.schemas import DecisionIn, NameIn, PersonIn
from shareguard.storage.base import today
from tests import factories
from tests.factories import TestWorld

N_PERSONS = 40


pytestmark = pytest.mark.usefixtures("data_dir")


def _person(world: TestWorld, given: str, family: str, born: date, postcode: str) -> uuid.UUID:
    status = StatusService(world.session)
    person = status.create_person(
        PersonIn(names=[NameIn(given=given, family=family)], date_of_birth=born, postcode=postcode),
        world.principals["caseworker"],
    )
    return person.id


def _refuse(world: TestWorld, person_id: uuid.UUID, *, appeal: str = "none") -> uuid.UUID:
    past = today() - timedelta(days=200)
    decision = StatusService(world.session).record_decision(
        person_id,
        DecisionIn(
            type="refusal",
            decided_on=past,
            final=appeal == "none",
            appeal_state=appeal,
            appeal_window_end=past + timedelta(days=14),
        ),
        world.principals["caseworker"],
    )
    return decision.id


class Scenario:
    """A bulk agreement, a gated watch list and a partner file holding noisy copies of it."""

    def __init__(self, world: TestWorld, tmp_path: Path) -> None:
        self.world = world
        self.agreement_id = world.agreement(bulk=True)
        data = generate(N_PERSONS, 400, seed=5, overlap=1.0)
        rng = random.Random(5)
        self.by_ref: dict[str, uuid.UUID] = {}
        watch = WatchlistService(world.session)
        for row in data.watchlist.itertuples(index=False):
            # Ages spread around 30 so that an age pause splits the list.
            born = today() - timedelta(days=rng.randrange(20 * 365, 60 * 365))
            pid = _person(world, row.first_name, row.surname, born, row.postcode)
            self.by_ref[row.person_ref] = pid
        partner = data.partner.copy()
        truth = dict(zip(data.truth["partner_id"], data.truth["watchlist_id"], strict=True))
        born_of = {
            pid: StatusService(world.session).person(pid).date_of_birth.isoformat()
            for pid in self.by_ref.values()
        }
        # The partner's copies carry the watch list's (re-drawn) dates of birth.
        partner["date_of_birth"] = [
            born_of[self.by_ref[truth[r]]] if r in truth else d
            for r, d in zip(partner["record_id"], partner["date_of_birth"], strict=True)
        ]
        self.truth = {(str(self.by_ref[w]), p) for p, w in truth.items()}
        refs = list(self.by_ref)
        # One person has an appeal pending: they must never be matched or disclosed.
        self.appellant = self.by_ref[refs[0]]
        self.entries = {}
        for ref in refs:
            pid = self.by_ref[ref]
            decision = _refuse(world, pid, appeal="pending" if pid == self.appellant else "none")
            entry = watch.propose(
                self.agreement_id, pid, decision, "EV-1", world.principals["caseworker"]
            )
            self.entries[pid] = watch.verify(entry.id, world.principals["caseworker2"])
        self.partner_file = tmp_path / "partner.csv"
        partner.to_csv(self.partner_file, index=False)
        world.session.commit()  # the scenario is its own unit of work (services never commit)

    def run(self, tmp_path: Path, **options: object) -> uuid.UUID:
        dataset = ImportService(self.world.session).import_dataset(
            self.partner_file,
            [
                "record_id=record_id",
                "first_name=first_name",
                "surname=surname",
                "date_of_birth=date_of_birth",
                "postcode=postcode",
            ],
            self.agreement_id,
            self.world.principals["agency"],
        )
        run = RunService(self.world.session).start_run(
            self.agreement_id,
            dataset.id,
            self.world.principals["officer"],
            # Outputs stay inside the data directory (the data_dir fixture: tmp_path / "var").
            RunOptions(
                threshold=0.9, review_threshold=0.3, out_dir=tmp_path / "var" / "run", **options
            ),  # type: ignore[arg-type]
        )
        self.world.session.commit()  # queued, as the request that starts a run commits it
        tasks.execute(run.id, engine=self.world.session.get_bind())
        self.world.session.expire_all()  # the run committed stage by stage, in its own units
        return run.id


def test_a_run_discloses_only_gated_permitted_pairs_each_audited(
    world: TestWorld, session: Session, tmp_path: Path
) -> None:
    sc = Scenario(world, tmp_path)
    assert sc.entries[sc.appellant].state == EntryState.REFUSED
    # A pause on proactive sharing about people over 30, made after they were verified.
    factories.pause(world, actions=["bulk_disclosure"], commit=False)
    run_id = sc.run(tmp_path)
    run = RunService(session).run(run_id)
    assert run.state == RunState.SUCCEEDED, run.error
    out = Path(run.out_dir)
    matches = pd.read_parquet(out / "matches.parquet")
    assert {
        "watchlist_id",
        "partner_id",
        "match_probability",
        "match_weight",
        "explanation",
    } <= set(matches.columns)
    assert set(pd.read_csv(out / "matches.csv")["partner_id"]) == set(matches["partner_id"])
    assert json.loads(matches["explanation"].iloc[0])[0]["comparison"] == "prior"
    assert "comparisons" in json.loads((out / "model.json").read_text())

    # The person with a pending appeal appears in no output of the run.
    assert str(sc.appellant) not in set(matches["watchlist_id"])
    assert str(sc.appellant) not in (out / "partner_results.json").read_text()

    kept_out = json.loads((out / "kept_out.json").read_text())
    matched = {p for p in sc.truth if p[0] not in {k["person_ref"] for k in kept_out}}
    matched.discard(next(p for p in sc.truth if p[0] == str(sc.appellant)))
    found = set(zip(matches["watchlist_id"], matches["partner_id"], strict=True))
    assert matched and len(found & matched) >= 0.8 * len(matched)

    # Over-30s never leave: kept out of the list at run time, and never in the results.
    over_30 = {
        str(pid)
        for pid in sc.by_ref.values()
        if StatusService(session).person(pid).date_of_birth
        < today().replace(year=today().year - 31)
    }
    results = json.loads((out / "partner_results.json").read_text())
    disclosed_people = {
        str(c.person_id)
        for c in session.scalars(select(Candidate).where(Candidate.run_id == run_id))
        if c.disclosure_id is not None
    }
    assert results and disclosed_people
    assert not disclosed_people & over_30
    refused = {k["person_ref"] for k in kept_out if "policy_refused" in k["reasons"]}
    assert over_30 - {str(sc.appellant)} <= refused
    # What left is minimised to the agreement's data items.
    for r in results:
        assert set(r["person"]) <= {"name", "date_of_birth", "lawfully_resident", "valid_until"}

    # Every disclosed pair has its own audit entry, naming the disclosure.
    audited = {
        e.details["disclosure_id"]
        for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "disclosure.match_result")
        )
    }
    disclosures = {
        str(c.disclosure_id)
        for c in session.scalars(select(Candidate).where(Candidate.run_id == run_id))
        if c.disclosure_id
    }
    assert disclosures and disclosures <= audited
    assert run.counts["disclosed"] == len(disclosures) == len(results)


def test_adverse_action_needs_a_confirmed_review(
    world: TestWorld, session: Session, tmp_path: Path
) -> None:
    sc = Scenario(world, tmp_path)
    run_id = sc.run(tmp_path, two_person_rule=True)
    svc = ReviewService(session)
    cand = session.scalars(
        select(Candidate).where(Candidate.run_id == run_id, Candidate.disclosure_id.is_not(None))
    ).first()
    assert cand is not None
    partner = world.principals["agency"]
    with pytest.raises(Refused, match="no adverse action"):
        svc.report_adverse_action(cand.id, "licence_revoked", "Appeal to the tribunal", partner)
    with pytest.raises(Forbidden):
        svc.review(cand.id, "same", world.principals["caseworker"])  # not a reviewer

    # One reviewer is not enough under the two-person rule.
    svc.review(cand.id, "same", world.principals["reviewer"])
    with pytest.raises(Refused):
        svc.report_adverse_action(cand.id, "licence_revoked", "Appeal to the tribunal", partner)
    world.session.commit()
    from shareguard.accounts.service import AccountService

    accounts = AccountService(session)
    second = accounts.create_user(
        world.orgs["dept"], "reviewer2@test.example", "r2", ["reviewer"], "pw-123456789"
    )
    svc.review(cand.id, "same", accounts.principal_for_user(second))
    action = svc.report_adverse_action(
        cand.id, "licence_revoked", "Appeal to the tribunal", partner
    )
    assert action.contest_route == "Appeal to the tribunal"
    assert [a.id for a in svc.adverse_actions(sc.agreement_id)] == [action.id]
    denied = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "matching.adverse_action")
        .order_by(AuditEntry.at)  # when each was recorded (numbers come at integration)
    ).all()
    assert [e.decision for e in denied] == ["deny", "deny", "permit"]

"""The gate read in bulk: each entry gets the reasons it would get alone, in a bounded
number of queries however long the list."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import event

from shareguard.matching.watchlist import WatchlistService
from shareguard.quality.service import QualityService
from shareguard.status import StatusService
from shareguard.status.schemas import DecisionIn, NameIn, PersonIn, StatusIn
from shareguard.storage.base import today
from tests import factories
from tests.factories import TestWorld


def _listed(
    world: TestWorld, agreement_id: uuid.UUID, n: int, born: date, nationality: str = "FRA"
) -> list[uuid.UUID]:
    """``n`` persons with a final refusal, proposed and verified: active entries."""
    status, watch = StatusService(world.session), WatchlistService(world.session)
    out = []
    for i in range(n):
        p = status.create_person(
            PersonIn(
                names=[NameIn(given=f"Given{i}", family="Bulkgate")],
                date_of_birth=born + timedelta(days=i),
                nationality=nationality,
            ),
            world.principals["caseworker"],
        )
        past = today() - timedelta(days=200)
        d = status.record_decision(
            p.id,
            DecisionIn(
                type="refusal",
                decided_on=past,
                final=True,
                appeal_window_end=past + timedelta(days=14),
                source="caseworking",
                evidence_ref="E",
            ),
            world.principals["caseworker"],
        )
        entry = watch.propose(agreement_id, p.id, d.id, "EV", world.principals["caseworker"])
        out.append(watch.verify(entry.id, world.principals["caseworker2"]).id)
    return out


def test_bulk_reasons_equal_each_entry_alone_and_queries_stay_few(world: TestWorld) -> None:
    s, cw = world.session, world.principals["caseworker"]
    agreement_id = world.agreement(bulk=True)
    young = _listed(world, agreement_id, 12, today() - timedelta(days=25 * 365))
    old = _listed(world, agreement_id, 12, today() - timedelta(days=50 * 365))
    # No nationality recorded: the quality run opens a finding, which holds the entry.
    [held] = _listed(world, agreement_id, 1, today() - timedelta(days=22 * 365), "")
    watch, status = WatchlistService(s), StatusService(s)
    entries = {e.id: e for e in watch.entries(agreement_id)}
    # After verification, things happen to some of them; the gate must notice each.
    granted = entries[young[0]].person_id
    status.record_status(
        granted,
        StatusIn(
            kind="settled", valid_from=today() - timedelta(days=5), source="x", evidence_ref="G"
        ),
        cw,
    )
    appealing = entries[young[1]].person_id
    status.record_decision(
        appealing,
        DecisionIn(
            type="refusal",
            decided_on=today() - timedelta(days=3),
            appeal_state="lodged",
            appeal_window_end=today() + timedelta(days=11),
            source="caseworking",
            evidence_ref="A",
        ),
        cw,
    )
    overturned = entries[young[2]]
    status.record_decision(
        overturned.person_id,
        DecisionIn(
            type="grant",
            decided_on=today(),
            final=True,
            overturned=True,
            supersedes_id=overturned.decision_id,
            source="correction",
            evidence_ref="C",
        ),
        cw,
    )
    factories.pause(
        world, agreements=[str(agreement_id)], actions=["bulk_disclosure"], commit=False
    )
    QualityService(s).run(world.principals["reviewer"], only=["missing_fields"])
    assert watch.check_many([]) == {}
    rows = watch.entries(agreement_id)
    alone = {e.id: watch.check(e) for e in rows}
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = s.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        together = watch.check_many(rows)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert together == alone
    assert together[young[0]] == ["status_conflict"]
    assert together[young[1]] == ["appeal_open"]
    assert set(together[overturned.id]) == {"decision_superseded"}
    assert all(together[e] == ["policy_refused"] for e in old)
    assert together[held] == ["quality_hold"]
    assert all(together[e] == [] for e in young[3:])
    assert len(statements) <= 12, statements  # 25 entries; not a round of queries each
    included, kept_out = watch.current(agreement_id)
    assert {e.id for e in included} == set(young[3:])
    assert len(kept_out) == 16


def test_admitting_in_bulk_gates_each_entry_as_propose_and_verify_would(world: TestWorld) -> None:
    import pytest
    from sqlalchemy import select

    from shareguard.audit import AuditEntry
    from shareguard.errors import Forbidden
    from tests.factories import integrated

    s, cw, cw2 = world.session, world.principals["caseworker"], world.principals["caseworker2"]
    agreement_id = world.agreement(bulk=True)
    status = StatusService(s)
    proposals = []
    for i, (window_end, appeal) in enumerate([(-186, "none"), (-186, "lodged"), (+5, "none")]):
        p = status.create_person(
            PersonIn(
                names=[NameIn(given=f"Adm{i}", family="Bulkadmit")],
                date_of_birth=today() - timedelta(days=9000 + i),
                nationality="FRA",
            ),
            cw,
        )
        d = status.record_decision(
            p.id,
            DecisionIn(
                type="refusal",
                decided_on=today() - timedelta(days=200),
                final=appeal == "none",
                appeal_state=appeal,
                appeal_window_end=today() + timedelta(days=window_end),
                source="caseworking",
                evidence_ref="E",
            ),
            cw,
        )
        proposals.append((p.id, d.id, "EV"))
    watch = WatchlistService(s)
    with pytest.raises(Forbidden):
        watch.admit_many(agreement_id, proposals, cw, cw)  # four eyes
    admitted = watch.admit_many(agreement_id, proposals, cw, cw2)
    assert [e.state for e in admitted] == ["active", "refused", "refused"]
    assert "appeal_open" in admitted[1].reasons and "appeal_window_open" in admitted[2].reasons
    for entry in admitted:  # the same reasons the gate gives the entry alone, read back
        assert watch.check(watch.get(entry.id)) == entry.reasons
    assert watch.admit_many(agreement_id, proposals[:1], cw, cw2) == []  # already listed
    integrated(s)
    actions = s.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("watchlist.%"))
    ).all()
    assert sorted(actions) == ["watchlist.propose"] * 3 + ["watchlist.verify"] * 3


def test_only_leave_that_is_current_on_the_day_keeps_a_person_out(world: TestWorld) -> None:
    """Leave whose start was recorded wrongly and corrected to next month, leave that ended
    and leave yet to start do not keep a person off the list; leave valid today does, also
    when it corrects a record."""
    cw = world.principals["caseworker"]
    agreement_id = world.agreement(bulk=True)
    ids = _listed(world, agreement_id, 5, today() - timedelta(days=25 * 365))
    watch, status = WatchlistService(world.session), StatusService(world.session)
    entries = {e.id: e for e in watch.entries(agreement_id)}
    corrected, ended, future, current, recorrected = (entries[i].person_id for i in ids)

    def leave(
        person: uuid.UUID,
        start: int,
        end: int | None = None,
        kind: str = "limited_leave",
        supersedes: uuid.UUID | None = None,
    ) -> uuid.UUID:
        data = StatusIn.model_validate(
            {
                "kind": kind,
                "valid_from": today() + timedelta(days=start),
                "valid_to": None if end is None else today() + timedelta(days=end),
                "source": "x",
                "evidence_ref": "L",
                "supersedes_id": supersedes,
                "reason": "corrected" if supersedes else "",
            }
        )
        return status.record_status(person, data, cw).id

    wrong = leave(corrected, -30)
    leave(corrected, 30, supersedes=wrong)  # corrected: it starts next month
    leave(ended, -400, -1)
    leave(future, 10)
    leave(current, -30, 300)
    first = leave(recorrected, -60, -5)
    leave(recorrected, -60, 200, supersedes=first)
    together = watch.check_many(watch.entries(agreement_id))
    assert [together[i] for i in ids] == [[], [], [], ["status_conflict"], ["status_conflict"]]
    included, _kept_out = watch.current(agreement_id)
    assert {e.id for e in included} == set(ids[:3])


def test_an_appeal_keeps_a_person_out_until_a_later_decision_settles_it(world: TestWorld) -> None:
    """The most open appeal among a person's current decisions counts: one a later decision
    supersedes no longer does, one still pending beside a decided one does."""
    cw = world.principals["caseworker"]
    agreement_id = world.agreement(bulk=True)
    ids = _listed(world, agreement_id, 4, today() - timedelta(days=25 * 365))
    watch, status = WatchlistService(world.session), StatusService(world.session)
    entries = {e.id: e for e in watch.entries(agreement_id)}
    settled, pending, lodged, decided = (entries[i].person_id for i in ids)

    def decision(person: uuid.UUID, appeal: str, supersedes: uuid.UUID | None = None) -> uuid.UUID:
        past = today() - timedelta(days=100)
        data = DecisionIn.model_validate(
            {
                "type": "refusal",
                "decided_on": past,
                "final": appeal not in ("lodged", "pending"),
                "appeal_state": appeal,
                "appeal_window_end": past + timedelta(days=14),
                "source": "caseworking",
                "evidence_ref": "A",
                "supersedes_id": supersedes,
            }
        )
        return status.record_decision(person, data, cw).id

    decision(settled, "decided", supersedes=decision(settled, "lodged"))
    decision(pending, "decided")
    decision(pending, "pending")
    decision(lodged, "lodged")
    decision(decided, "decided")
    together = watch.check_many(watch.entries(agreement_id))
    assert [together[i] for i in ids] == [[], ["appeal_open"], ["appeal_open"], []]

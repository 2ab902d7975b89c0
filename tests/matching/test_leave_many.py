"""Entries leaving the watch list in a batch (``leave_many``) as they leave one at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shareguard.audit.models import AuditEntry
from shareguard.errors import Conflict, InvalidInput
from shareguard.matching.models import EntryState, WatchlistEntry
from shareguard.matching.watchlist import WatchlistService
from shareguard.storage.base import today
from tests.factories import TestWorld
from tests.matching.test_gate_bulk import _listed


def _left(world: TestWorld, ids: list) -> list[tuple]:  # type: ignore[type-arg]
    s = world.session
    s.flush()
    entries = [s.get(WatchlistEntry, i) for i in ids]
    audit = {
        e["entry_id"]: (a, u, e["state"], e["reason"])
        for a, u, e in s.execute(
            select(AuditEntry.action, AuditEntry.actor_user_id, AuditEntry.details).where(
                AuditEntry.action == "watchlist.leave"
            )
        )
    }
    return [(e.state, e.left_reason, e.left_at is not None, audit[str(e.id)]) for e in entries if e]


def test_leaving_in_a_batch_writes_what_one_at_a_time_writes(world: TestWorld) -> None:
    agreement_id = world.agreement(bulk=True)
    ids = _listed(world, agreement_id, 6, today() - timedelta(days=30 * 365))
    watch = WatchlistService(world.session)
    cw, cw2 = world.principals["caseworker"], world.principals["caseworker2"]
    for i, principal in zip(ids[:3], (cw, cw2, cw), strict=True):
        watch.leave(i, " decision corrected ", principal)
    watch.leave_many(list(zip(ids[3:], (cw, cw2, cw), strict=True)), " decision corrected ")
    alone, together = _left(world, ids[:3]), _left(world, ids[3:])
    assert alone == together
    assert together[1] == (
        EntryState.LEFT,
        "decision corrected",
        True,
        ("watchlist.leave", cw2.user_id, "left", "decision corrected"),
    )


def test_a_batch_with_one_entry_at_fault_is_refused_whole(world: TestWorld) -> None:
    agreement_id = world.agreement(bulk=True)
    ids = _listed(world, agreement_id, 3, today() - timedelta(days=30 * 365))
    watch = WatchlistService(world.session)
    cw = world.principals["caseworker"]
    with pytest.raises(Conflict, match="already left"):
        watch.leave_many([(ids[0], cw), (ids[1], cw), (ids[0], cw)], "corrected")
    with pytest.raises(InvalidInput):
        watch.leave_many([(ids[0], cw)], "  ")
    states = {world.session.get(WatchlistEntry, i).state for i in ids}  # type: ignore[union-attr]
    assert states == {EntryState.ACTIVE}

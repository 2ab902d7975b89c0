"""Who can be put on a watch list at all: an ended agreement takes nobody, one by one or in bulk,
and nothing is written."""

from __future__ import annotations

from datetime import date

import pytest

from shareguard.agreements import AgreementService
from shareguard.errors import Conflict
from shareguard.matching.watchlist import WatchlistService
from tests import factories
from tests.factories import TestWorld


def test_an_ended_agreement_takes_nobody_onto_its_watch_list(world: TestWorld) -> None:
    s, cw, cw2 = world.session, world.principals["caseworker"], world.principals["caseworker2"]
    agreement_id = world.agreement(bulk=True)
    person = factories.person(world, "Ilse", "Kornfeld", date(1979, 5, 6), commit=False)
    decision = factories.decision(world, person.id, source="caseworking", evidence_ref="DEC-9")
    AgreementService(s).transition(
        agreement_id, "end", world.principals["officer"], reason="Superseded by a new agreement"
    )
    s.commit()
    svc = WatchlistService(s)
    with pytest.raises(Conflict, match="has ended") as one:
        svc.propose(agreement_id, person.id, decision.id, "CASE-9", cw)
    assert one.value.field == "agreement_id"
    with pytest.raises(Conflict, match="has ended"):
        svc.admit_many(agreement_id, [(person.id, decision.id, "CASE-9")], cw, cw2)
    s.rollback()
    assert svc.entries(agreement_id) == []

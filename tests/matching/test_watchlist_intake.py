"""Who can be put on a watch list at all: an ended agreement takes nobody, one by one or in bulk;
only the disclosing organisation's caseworkers list and verify; and nothing is written."""

from __future__ import annotations

from datetime import date

import pytest

from shareguard.accounts import AccountService, Principal
from shareguard.agreements import AgreementService
from shareguard.errors import Conflict, Forbidden
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


def _caseworker_at(world: TestWorld, org: str, code: str) -> Principal:
    accounts = AccountService(world.session)
    user = accounts.create_user(
        world.orgs[org], f"{code}@test.example", code, ["caseworker"], factories.PASSWORD
    )
    return accounts.principal_for_user(user)


def test_only_the_disclosers_caseworkers_list_and_verify(world: TestWorld) -> None:
    """The agency receives under the agreement: its caseworkers cannot choose whose data the
    department sends it, neither by proposing, nor by verifying, nor in bulk."""
    s, cw, cw2 = world.session, world.principals["caseworker"], world.principals["caseworker2"]
    agreement_id = world.agreement(bulk=True)
    agency_cw = _caseworker_at(world, "agency", "agency_caseworker")
    person = factories.person(world, "Ilse", "Kornfeld", date(1979, 5, 6), commit=False)
    decision = factories.decision(world, person.id, source="caseworking", evidence_ref="DEC-9")
    s.commit()
    svc = WatchlistService(s)
    with pytest.raises(Forbidden, match="discloses under this agreement") as one:
        svc.propose(agreement_id, person.id, decision.id, "CASE-9", agency_cw)
    assert one.value.field == "agreement_id"
    with pytest.raises(Forbidden, match="discloses under this agreement"):
        svc.admit_many(agreement_id, [(person.id, decision.id, "CASE-9")], cw, agency_cw)
    s.rollback()
    assert svc.entries(agreement_id) == []

    entry = svc.propose(agreement_id, person.id, decision.id, "CASE-9", cw)
    with pytest.raises(Forbidden, match="discloses under this agreement"):
        svc.verify(entry.id, agency_cw)
    assert svc.get(entry.id).state == "proposed"
    assert svc.verify(entry.id, cw2).state == "active"

"""A world with inbound agreements (partners send to the operator) and one person."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy.orm import Session

from shareguard.accounts.service import AccountService
from shareguard.agreements.schemas import PartyIn
from shareguard.status.schemas import NameIn, PersonIn
from shareguard.status.service import StatusService
from tests.factories import TestWorld, build_world

ITEMS = ["name", "date_of_birth", "address", "postcode"]
GIVEN, FAMILY, DOB = "Testa", "Exemplar", date(1985, 5, 5)


@dataclass
class ExchangeWorld:
    w: TestWorld
    session: Session
    person: uuid.UUID
    agreement: uuid.UUID  # agency → dept, immigration enforcement, requests and records
    nhs_agreement: uuid.UUID  # NHS trust → dept, immigration enforcement (firewalled)
    nhs: uuid.UUID


def inbound_agreement(w: TestWorld, discloser: str, **kw: object) -> uuid.UUID:
    fields: dict[str, object] = {
        "purposes": ["immigration_enforcement"],
        "data_items": ITEMS,
        "parties": [
            PartyIn(organisation=discloser, role="discloser"),
            PartyIn(organisation="Test Department", role="recipient"),
        ],
    }
    fields.update(kw)
    return w.agreement(**fields)


@pytest.fixture
def xw(session: Session) -> ExchangeWorld:
    w = build_world(session)
    nhs = AccountService(session).create_organisation("Test NHS Trust", "nhs_body").id
    person = StatusService(session).create_person(
        PersonIn(names=[NameIn(given=GIVEN, family=FAMILY)], date_of_birth=DOB),
        w.principals["caseworker"],
        commit=False,
    )
    session.flush()
    return ExchangeWorld(
        w=w,
        session=session,
        person=person.id,
        agreement=inbound_agreement(w, "Test Agency", reference="T-AG-HO-001"),
        nhs_agreement=inbound_agreement(w, "Test NHS Trust", reference="T-NHS-HO-002"),
        nhs=nhs,
    )

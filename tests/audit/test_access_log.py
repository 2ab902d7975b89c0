""" "Who checked my data": a person's access log, and exemptions from subject access."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.audit import AuditRecord, append
from shareguard.audit.service import AuditService
from shareguard.config import Settings
from shareguard.errors import Forbidden, InvalidInput
from tests.factories import integrated

IMMIGRATION = "DPA 2018 Sch 2 para 4 (immigration)"


def _checks(session: Session, world, person: uuid.UUID) -> tuple[uuid.UUID, list[int]]:
    agreement_id = world.agreement()
    entries = []
    for outcome in ("confirmed", "not_confirmed"):
        e = append(
            session,
            AuditRecord(
                action="check.share_code",
                actor_org_id=world.orgs["agency"],
                agreement_id=agreement_id,
                purpose="driving_licence",
                subject_ref=str(person),
                decision="permit",
                details={"outcome": outcome},
            ),
        )
        entries.append(e)
    append(
        session, AuditRecord(action="check.share_code", subject_ref=str(uuid.uuid4()))
    )  # someone else
    return agreement_id, integrated(session, entries)


def test_a_person_sees_who_checked_their_data(session: Session, world, settings: Settings) -> None:
    person = uuid.uuid4()
    agreement_id, seqs = _checks(session, world, person)
    svc = AuditService(session, settings)
    items = svc.access_log(person, Principal(organisation_id=None, person_id=person))
    assert [i.seq for i in items] == seqs
    agreement = session.get(Agreement, agreement_id)
    assert agreement is not None
    reference = agreement.reference
    assert [(i.organisation, i.agreement_reference, i.purpose, i.outcome) for i in items] == [
        ("Test Agency", reference, "driving_licence", "confirmed"),
        ("Test Agency", reference, "driving_licence", "not_confirmed"),
    ]
    assert all(i.at is not None and i.withheld is None for i in items)


def test_only_the_person_or_staff_may_read_an_access_log(
    session: Session, world, settings: Settings
) -> None:
    person = uuid.uuid4()
    _checks(session, world, person)
    svc = AuditService(session, settings)
    with pytest.raises(Forbidden):
        svc.access_log(person, Principal(organisation_id=None, person_id=uuid.uuid4()))
    with pytest.raises(Forbidden):
        svc.access_log(person, world.principals["agency"])
    assert len(svc.access_log(person, world.principals["auditor"])) == 2


def test_an_exempted_entry_is_withheld_from_the_person_under_its_name(
    session: Session,
    world,
    settings: Settings,
) -> None:
    person = uuid.uuid4()
    _, seqs = _checks(session, world, person)
    svc = AuditService(session, settings)
    svc.apply_exemption(
        seqs[1],
        IMMIGRATION,
        "enforcement investigation open",
        world.principals["caseworker"],
        world.principals["caseworker2"],
    )
    mine = svc.access_log(person, Principal(organisation_id=None, person_id=person))
    assert mine[0].organisation == "Test Agency" and mine[0].withheld is None
    assert mine[1].withheld == f"withheld under {IMMIGRATION}"
    assert (mine[1].at, mine[1].organisation, mine[1].outcome, mine[1].exemption_reason) == (
        None,
        None,
        None,
        None,
    )
    staff = svc.access_log(person, world.principals["caseworker"])
    assert staff[1].organisation == "Test Agency"
    assert staff[1].exemption_reason == "enforcement investigation open"
    assert svc.exemption_counts() == {IMMIGRATION: 1}
    # The exemption is itself on the log, with no personal data, and the log still verifies.
    integrated(session)
    tail = svc.tail(world.principals["auditor"], 1)[0]
    assert tail.action == "audit.exemption" and tail.subject_ref is None
    assert tail.details["entry_seq"] == seqs[1]
    assert svc.verify().ok


def test_an_exemption_needs_a_second_person_and_a_reason(
    session: Session, world, settings: Settings
) -> None:
    person = uuid.uuid4()
    _, seqs = _checks(session, world, person)
    svc = AuditService(session, settings)
    cw = world.principals["caseworker"]
    with pytest.raises(Forbidden):
        svc.apply_exemption(seqs[0], IMMIGRATION, "reason", cw, cw)
    with pytest.raises(Forbidden):
        svc.apply_exemption(seqs[0], IMMIGRATION, "reason", cw, world.principals["agency_user"])
    with pytest.raises(InvalidInput):
        svc.apply_exemption(seqs[0], IMMIGRATION, " ", cw, world.principals["caseworker2"])
    assert svc.exemption_counts() == {}

"""Creating and cancelling a share code are audited: ids and purpose, never the code."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from shareguard.accounts.principal import Principal
from shareguard.audit import AuditEntry
from shareguard.status.schemas import DocumentIn, NameIn, PersonIn
from shareguard.status.service import StatusService
from tests.factories import TestWorld, integrated


def test_share_code_create_and_revoke_are_audited(world: TestWorld) -> None:
    service = StatusService(world.session)
    person = service.create_person(
        PersonIn(
            names=[NameIn(given="Ada", family="Codeholder")],
            date_of_birth=date(1991, 4, 5),
            documents=[DocumentIn(number="QQ1234567")],
        ),
        world.principals["caseworker"],
    )
    me = Principal(organisation_id=None, person_id=person.id)
    row, code = service.create_share_code(person.id, "right_to_work", me)
    service.revoke_share_code(person.id, row.id, world.principals["caseworker"])
    integrated(world.session)  # numbers come at integration
    entries = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("share_code.%")).order_by(AuditEntry.seq)
    ).all()
    assert [(e.action, e.details["by"]) for e in entries] == [
        ("share_code.create", "person"),
        ("share_code.revoke", "staff"),
    ]
    assert all(e.subject_ref == str(person.id) and e.purpose == "right_to_work" for e in entries)
    assert entries[1].actor_user_id == world.users["caseworker"]
    assert not any(code in str(e.details) or code[-3:] in str(e.details) for e in entries)

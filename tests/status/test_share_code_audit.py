"""Creating and cancelling a share code are audited: ids and purpose, never the code."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from shareguard.accounts.principal import Principal
from shareguard.audit import AuditEntry
from shareguard.errors import Forbidden
from shareguard.status.service import StatusService
from tests import factories
from tests.factories import TestWorld, integrated


def test_share_code_create_and_revoke_are_audited(world: TestWorld) -> None:
    service = StatusService(world.session)
    person = factories.person(
        world, "Ada", "Codeholder", date(1991, 4, 5), documents=("QQ1234567",), commit=False
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


def test_codes_issued_in_bulk_work_and_are_audited_like_one(world: TestWorld) -> None:
    service = StatusService(world.session)
    people = [
        factories.person(world, f"Bo{i}", "Bulkcode", date(1990, 1, i + 1), commit=False)
        for i in range(3)
    ]
    codes = service.create_share_codes(
        [(p.id, "right_to_rent") for p in people], world.principals["caseworker"]
    )
    assert len(set(codes)) == 3
    for p, code in zip(people, codes, strict=True):
        live = service.share_code_for(code)
        assert live is not None and live.person_id == p.id and live.purpose == "right_to_rent"
    integrated(world.session)
    entries = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "share_code.create")
    ).all()
    assert sorted(e.subject_ref for e in entries) == sorted(str(p.id) for p in people)
    assert not any(c in str(e.details) or c[-3:] in str(e.details) for e in entries for c in codes)
    partner = Principal(organisation_id=None, roles=frozenset({"partner_user"}))
    with pytest.raises(Forbidden):  # only staff issue codes for someone else
        service.create_share_codes([(people[0].id, "right_to_rent")], partner)

"""The status register: append-only records, derived current status, share codes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shareguard.errors import Conflict, Forbidden, InvalidInput
from shareguard.status import StatusService
from shareguard.status.schemas import DecisionIn, NameIn, StatusIn
from shareguard.storage.base import today
from tests import factories


def make_person(world):  # type: ignore[no-untyped-def]
    """The register's test person (uncommitted: each test is one unit of work)."""
    return factories.person(
        world, "Amara", "Okonkwo", date(1990, 4, 12), nationality="NGA", commit=False
    )


def test_current_status_is_newest_valid_unsuperseded(world) -> None:  # type: ignore[no-untyped-def]
    svc = StatusService(world.session)
    cw = world.principals["caseworker"]
    p = make_person(world)
    assert svc.current_status(p.id) is None
    old = svc.record_status(
        p.id,
        StatusIn(
            kind="limited_leave",
            valid_from=today() - timedelta(days=400),
            valid_to=today() + timedelta(days=30),
            may_work=False,
        ),
        cw,
    )
    assert svc.current_status(p.id).id == old.id
    fixed = svc.record_status(
        p.id,
        StatusIn(
            kind="limited_leave",
            valid_from=old.valid_from,
            valid_to=old.valid_to,
            may_work=True,
            supersedes_id=old.id,
            reason="correction",
        ),
        cw,
    )
    assert svc.current_status(p.id).id == fixed.id
    # the wrong record is kept: history is append-only
    assert [r.id for r in svc.status_history(p.id)] == [old.id, fixed.id]
    with pytest.raises(Conflict):
        svc.record_status(
            p.id, StatusIn(kind="settled", valid_from=today(), supersedes_id=old.id), cw
        )
    # expired leave is not current
    assert svc.current_status(p.id, on=today() + timedelta(days=31)) is None


def test_only_caseworkers_record(world) -> None:  # type: ignore[no-untyped-def]
    p = make_person(world)
    with pytest.raises(Forbidden):
        StatusService(world.session).record_status(
            p.id, StatusIn(kind="settled", valid_from=today()), world.principals["agency"]
        )


def test_decision_appeal_state_and_supersession(world) -> None:  # type: ignore[no-untyped-def]
    svc = StatusService(world.session)
    cw = world.principals["caseworker"]
    p = make_person(world)
    d = svc.record_decision(
        p.id, DecisionIn(type="refusal", decided_on=today(), appeal_state="lodged"), cw
    )
    assert svc.appeal_state(p.id) == "lodged"
    with pytest.raises(InvalidInput):
        svc.record_decision(
            p.id,
            DecisionIn(type="refusal", decided_on=today(), appeal_state="pending", final=True),
            cw,
        )
    svc.record_decision(
        p.id,
        DecisionIn(
            type="refusal",
            decided_on=today(),
            appeal_state="decided",
            overturned=True,
            supersedes_id=d.id,
        ),
        cw,
    )
    assert svc.appeal_state(p.id) == "decided"
    assert len(svc.decisions(p.id)) == 2


def test_share_code_lifecycle(world) -> None:  # type: ignore[no-untyped-def]
    svc = StatusService(world.session)
    cw = world.principals["caseworker"]
    p = make_person(world)
    row, code = svc.create_share_code(p.id, "right_to_work", cw)
    assert len(code) == 9 and row.code_hash != code and code not in row.code_hash
    assert svc.share_code_for(code).person_id == p.id
    assert svc.share_code_for(code, at=row.expires_at + timedelta(seconds=1)) is None
    svc.revoke_share_code(p.id, row.id, cw)
    assert svc.share_code_for(code) is None
    with pytest.raises(InvalidInput):
        svc.create_share_code(p.id, "immigration_enforcement", cw)
    with pytest.raises(Forbidden):
        svc.create_share_code(p.id, "right_to_work", world.principals["agency"])


def test_candidates_found_by_variant_names_and_dates(world) -> None:  # type: ignore[no-untyped-def]
    svc = StatusService(world.session)
    cyrillic = NameIn(given="Мухаммед", family="Ас-Саид", kind="transliteration", script="Cyrillic")
    p = factories.person(
        world,
        "Mohammed",
        "Al-Sayed",
        date(1990, 4, 12),
        other_names=[cyrillic],
        nationality="NGA",
        commit=False,
    )
    factories.person(world, "Zhang", "Wei", date(1985, 1, 2), nationality="NGA", commit=False)
    dob = p.date_of_birth
    for given, family, d in [
        ("Muhammad", "Alsayed", dob),
        ("Al Sayed", "Mohamed", dob),
        ("Mohammed", "Al-Sayed", date(1990, 12, 4)),  # day/month swap
        ("Mohammed", "Al-Sayed", date(1990, 4, 22)),
    ]:  # same year, wrong day
        assert p.id in {c.id for c in svc.candidates(given, family, d)}, (given, family, d)

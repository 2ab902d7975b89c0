"""A share-code check reads the policy once, and afresh every time: changes apply at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from shareguard.agreements.service import AgreementService
from tests.checks.test_checks import DL_ITEMS, DOB, RTW_ITEMS, code_for, person, share_check
from tests.factories import bearer


@pytest.fixture
def rtw(world):  # type: ignore[no-untyped-def]
    return world.agreement(purposes=["right_to_work"], data_items=RTW_ITEMS)


@pytest.fixture
def bank(world):  # type: ignore[no-untyped-def]
    """A purpose the attribute-check lock covers (not statutory)."""
    return world.agreement(purposes=["bank_account"], data_items=DL_ITEMS)


def _statements(engine: Any) -> tuple[list[str], Any]:
    seen: list[str] = []

    def record(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen, record


def test_a_pause_applies_to_the_very_next_check(client, world, rtw, engine) -> None:  # type: ignore[no-untyped-def]
    p = person(world)
    _, code = code_for(world, p)
    seen, record = _statements(engine)
    try:
        assert share_check(client, world, code).json()["outcome"] == "confirmed"
        generation_reads = [s for s in seen if "FROM policy_generation" in s]
        assert len(generation_reads) == 1  # once per check, not once per decision
        officer = world.principals["officer"]
        AgreementService(world.session).transition(rtw, "pause", officer, "review")
        world.session.commit()
        paused = share_check(client, world, code)
        assert paused.status_code == 403
        assert "Petrov" not in paused.text and "Aleksandr" not in paused.text
        AgreementService(world.session).transition(rtw, "resume", officer, "done")
        world.session.commit()
        assert share_check(client, world, code).json()["outcome"] == "confirmed"
        assert len([s for s in seen if "FROM policy_generation" in s]) >= 3
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_lock_the_person_sets_applies_to_the_very_next_check(client, world, bank) -> None:  # type: ignore[no-untyped-def]
    from shareguard.status.models import Person

    p = person(world)
    body = {
        "purpose": "bank_account",
        "given": "Aleksandr",
        "family": "Petrov",
        "date_of_birth": str(DOB),
    }
    headers = bearer(world.keys["agency"])
    assert (
        client.post("/api/v1/checks/attributes", headers=headers, json=body).json()["outcome"]
        == "confirmed"
    )
    row = world.session.get(Person, p.id)
    row.locks = ["attribute_checks"]
    world.session.commit()
    locked = client.post("/api/v1/checks/attributes", headers=headers, json=body)
    assert locked.status_code == 403
    assert "Petrov" not in locked.text

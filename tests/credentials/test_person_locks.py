"""The person's attribute-check lock, end to end through the checks and the one door.

With the lock set, a bank's convenience check by attributes is refused (and audited), a
share-code check the person starts still works, and a check the law requires still happens and
is shown to the person.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shareguard.agreements.schemas import PartyIn
from shareguard.audit.service import AuditService
from shareguard.checks import AttributeQuery, CheckService
from shareguard.credentials.service import LockService
from shareguard.errors import Refused
from shareguard.status.service import StatusService
from tests.credentials.conftest import DOB, FAMILY, GIVEN, as_person, audit
from tests.factories import bearer

BANK_ITEMS = ["name", "date_of_birth", "lawfully_resident", "valid_until"]


@pytest.fixture
def agreements(world: Any) -> dict[str, uuid.UUID]:
    bank = world.agreement(
        purposes=["bank_account"],
        data_items=BANK_ITEMS,
        parties=[
            PartyIn(organisation="Test Department", role="discloser"),
            PartyIn(organisation="Test Bank", role="recipient"),
        ],
        legal_gateway_statute="Convenience Checks Act 2020",
    )
    # Driving licence eligibility is statutory: the agency must check, lock or not.
    licence = world.agreement(purposes=["driving_licence"], data_items=BANK_ITEMS)
    return {"bank": bank, "licence": licence}


def attributes(purpose: str) -> AttributeQuery:
    return AttributeQuery(
        purpose=purpose,
        given=GIVEN,
        family=FAMILY,
        date_of_birth=DOB,
        document_number="TST123456",
    )


def test_lock_refuses_bank_attribute_checks_but_not_share_codes_or_statutory_checks(
    world: Any, person: uuid.UUID, agreements: dict[str, uuid.UUID]
) -> None:
    checks = CheckService(world.session)
    bank, agency = world.principals["bank"], world.principals["agency"]
    # Before the lock the bank's convenience check is answered.
    assert checks.attribute_check(bank, attributes("bank_account")).outcome == "confirmed"

    LockService(world.session).set_lock(person, "attribute_checks", as_person(person))

    with pytest.raises(Refused, match="locked attribute checks") as refused:
        checks.attribute_check(bank, attributes("bank_account"))
    assert refused.value.extra.get("kind") == "lock"
    denials = [e for e in audit(world.session, "policy.deny") if e.subject_ref == str(person)]
    assert len(denials) == 1
    assert denials[0].actor_org_id == world.orgs["bank"]
    assert denials[0].details["kind"] == "lock"
    assert "locked attribute checks" in denials[0].reasons[0]

    # A share code the person creates and hands to the bank still works.
    _, code = StatusService(world.session).create_share_code(
        person, "bank_account", as_person(person)
    )
    shared = checks.share_code_check(bank, code, DOB, "bank_account")
    assert shared.outcome == "confirmed"
    assert shared.answer is not None and shared.answer["lawfully_resident"] is True

    # The statutory check goes ahead ...
    statutory = checks.attribute_check(agency, attributes("driving_licence"))
    assert statutory.outcome == "confirmed"

    # ... and the person sees every one of them in "who checked my data".
    log = AuditService(world.session).access_log(person, as_person(person))
    seen = {(i.organisation, i.purpose, i.outcome is not None) for i in log}
    assert ("Test Bank", "bank_account", True) in seen
    licence_lines = [i for i in log if i.purpose == "driving_licence"]
    assert licence_lines and licence_lines[-1].organisation == "Test Agency"
    assert licence_lines[-1].agreement_reference  # names the agreement it was made under
    assert licence_lines[-1].legal_gateway == "Test Act 2020 s.1"  # and the law it relies on

    # Clearing the lock lets the bank check by attributes again.
    LockService(world.session).clear_lock(person, "attribute_checks", as_person(person))
    assert checks.attribute_check(bank, attributes("bank_account")).outcome == "confirmed"


def test_refused_attribute_check_is_a_clear_problem(
    client: Any, world: Any, person: uuid.UUID, agreements: dict[str, uuid.UUID]
) -> None:
    cw = bearer(world.keys["caseworker"])
    assert client.put(f"/api/v1/persons/{person}/locks/attribute_checks", headers=cw).is_success
    resp = client.post(
        "/api/v1/checks/attributes",
        headers=bearer(world.keys["bank"]),
        json={
            "purpose": "bank_account",
            "given": GIVEN,
            "family": FAMILY,
            "date_of_birth": str(DOB),
            "document_number": "TST123456",
        },
    )
    assert resp.status_code == 403, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "locked attribute checks" in resp.json()["detail"]
    assert FAMILY not in resp.text

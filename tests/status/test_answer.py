"""One answer about a person's status: one shape per fact, one rule for "current status",
whichever path (a check, a credential, a bulk match) the answer leaves by."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine

from shareguard.agreements.catalogue import PURPOSES, SHARE_CODE_ONLY, SHARE_CODE_PURPOSES
from shareguard.checks import AttributeQuery, CheckService
from shareguard.config import Settings
from shareguard.credentials import format as fmt
from shareguard.credentials.service import CredentialService
from shareguard.status import PersonFacts, Standing, StatusService, status_answer
from shareguard.storage.base import today
from tests import factories
from tests.factories import TestWorld

TODAY = today()
PERSON = PersonFacts(
    id=uuid.uuid4(),
    date_of_birth=date(1988, 3, 9),
    nationality="",
    photo_ref="",
    categories=(),
    locks=(),
    name="Aleksandr Petrov",
)


def status(kind: str = "limited_leave", **kw: Any) -> SimpleNamespace:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": kind,
        "valid_from": TODAY - timedelta(days=100),
        "valid_to": TODAY + timedelta(days=300),
        "may_work": True,
        "work_conditions": "",
        "may_rent": True,
        "public_funds": False,
    }
    fields.update(kw)
    return SimpleNamespace(**fields)


def decision(**kw: Any) -> SimpleNamespace:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "type": "refusal",
        "decided_on": TODAY - timedelta(days=200),
        "appeal_state": "none",
        "overturned": False,
    }
    fields.update(kw)
    return SimpleNamespace(**fields)


# the shape: one type per fact -------------------------------------------------------------


def test_every_fact_has_one_shape() -> None:
    out = status_answer(PERSON, Standing(status(work_conditions="20 hours"), []), "right_to_work")
    a = out.answer
    for fact in ("may_rent", "lawfully_resident", "public_funds", "exempt_from_charges"):
        assert isinstance(a[fact], bool), fact
    assert a["may_work"] == "yes_with_conditions" and a["work_conditions"] == "20 hours"
    assert a["valid_until"] == (TODAY + timedelta(days=300)).isoformat()
    assert a["status"] == "limited_leave" and a["decision"] is None
    # Unknown values are None, never "".
    assert a["nationality"] is None and a["photo_ref"] is None and a["postcode"] is None
    assert set(a) == FACTS


YES_OR_NO = {"may_work", "may_rent", "lawfully_resident", "public_funds", "exempt_from_charges"}
FACTS = {
    "name",
    "date_of_birth",
    "nationality",
    "photo_ref",
    "postcode",
    "status",
    "may_work",
    "work_conditions",
    "may_rent",
    "lawfully_resident",
    "public_funds",
    "exempt_from_charges",
    "valid_until",
    "decision",
}


def test_no_current_status_answers_no_to_everything() -> None:
    a = status_answer(PERSON, Standing(None, []), "driving_licence")
    assert a.outcome == "not_confirmed" and a.record_refs == []
    assert a.answer["status"] == "none" and a.answer["may_work"] == "no"
    assert not any(
        a.answer[f]
        for f in ("may_rent", "lawfully_resident", "public_funds", "exempt_from_charges")
    )
    assert a.answer["valid_until"] is None


# the purpose's rule: which fact confirms it --------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "record", "outcome"),
    [
        ("right_to_work", status(), "confirmed"),
        ("right_to_work", status(may_work=False), "not_confirmed"),
        ("right_to_rent", status(may_rent=False), "not_confirmed"),
        ("benefit_entitlement", status(), "not_confirmed"),
        ("benefit_entitlement", status(public_funds=True), "confirmed"),
        ("driving_licence", status(may_work=False, may_rent=False), "confirmed"),
        ("nhs_charging", status(), "confirmed"),
        ("driving_licence", status("no_leave", valid_to=None), "not_confirmed"),
    ],
)
def test_each_purpose_is_confirmed_by_its_own_fact(
    purpose: str, record: SimpleNamespace, outcome: str
) -> None:
    assert status_answer(PERSON, Standing(record, []), purpose).outcome == outcome


def test_an_open_appeal_refers_what_would_not_be_confirmed() -> None:
    pending = decision(appeal_state="pending")
    out = status_answer(
        PERSON, Standing(status("no_leave", valid_to=None), [pending]), "bank_account"
    )
    assert out.outcome == "referred"
    out = status_answer(PERSON, Standing(status(), [pending]), "bank_account")
    assert out.outcome == "confirmed"


def test_the_decision_carried_is_the_newest_not_overturned() -> None:
    current = status()
    old, overturned = decision(), decision(type="refusal", overturned=True)
    out = status_answer(PERSON, Standing(current, [old, overturned]), "tax_compliance")
    assert out.answer["decision"] == {"type": "refusal", "decided_on": old.decided_on.isoformat()}
    assert out.record_refs == [str(current.id), str(old.id)]  # what the answer carries


def test_purpose_rules_live_in_the_catalogue() -> None:
    assert SHARE_CODE_ONLY == ("right_to_work", "right_to_rent")
    assert "immigration_enforcement" not in SHARE_CODE_PURPOSES
    assert set(SHARE_CODE_PURPOSES) == {c for c, p in PURPOSES.items() if not p.enforcement}
    for p in PURPOSES.values():
        assert p.confirmed_by in YES_OR_NO, p.code


# one rule for "current status", whichever way it is read --------------------------------------


def test_current_status_is_the_same_by_every_read(world: TestWorld) -> None:
    p = factories.person(world)
    first = factories.status_record(world, p.id, "limited_leave")
    factories.status_record(  # superseded below: never current
        world, p.id, "settled", valid_to=None, supersedes_id=None
    )
    svc = StatusService(world.session)
    history = svc.status_history(p.id)
    factories.status_record(
        world, p.id, "no_leave", valid_to=None, supersedes_id=history[-1].id, may_work=False
    )
    lapsed = factories.person(world, "Olga", "Smirnova")
    factories.status_record(
        world,
        lapsed.id,
        "limited_leave",
        valid_from=TODAY - timedelta(days=400),
        valid_to=TODAY - timedelta(days=1),
    )
    for pid in (p.id, lapsed.id):
        one = svc.standing(pid)
        many = svc.standings([pid])[pid]
        orm = svc.current_status(pid)
        assert (one.status.id if one.status else None) == (orm.id if orm else None)
        assert (many.status.id if many.status else None) == (orm.id if orm else None)
        assert [d.id for d in one.decisions] == [d.id for d in many.decisions]
    assert svc.current_status(p.id).kind == "no_leave"
    assert svc.current_status(lapsed.id) is None
    assert first.id != svc.current_status(p.id).id


# the same fact, the same shape, by a check and by a credential ------------------------------


def test_a_check_and_a_credential_state_the_same_facts_alike(
    world: TestWorld, engine: Engine, tmp_path: Any
) -> None:
    shape = list(PURPOSES["bank_account"].answer_shape)
    world.agreement(purposes=["bank_account"], data_items=shape)
    p = factories.person(world)
    factories.status_record(world, p.id, "limited_leave")
    checked = CheckService(world.session).attribute_check(
        world.principals["agency"],
        AttributeQuery("bank_account", "Aleksandr", "Petrov", date(1988, 3, 9)),
    )
    settings = Settings(mode="test", data_dir=tmp_path, secret_key="test-secret-key-0123456789")
    creds = CredentialService(world.session, settings)
    row = creds.issue(p.id, "bank_account", world.principals["caseworker"])
    subject = fmt.verify(
        row.token, fmt.load_public_key(fmt.public_pem(creds.public_key())), at=datetime.now(UTC)
    ).subject
    assert subject is not None and checked.answer is not None
    stated = {k: v for k, v in subject.items() if k not in ("purpose", "question")}
    assert stated == checked.answer
    assert stated["lawfully_resident"] is True

"""The one door: decisions, refusals with reasons, disclosure records and their audit entries."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.agreements.service import AgreementService
from shareguard.audit.models import AuditEntry
from shareguard.errors import InvalidInput
from shareguard.policy import (
    DisclosureRequest,
    Subject,
    agreement_for,
    decide,
    decide_many,
    decide_subjects,
    disclose,
    disclose_many,
    minimise,
)
from shareguard.policy.models import Disclosure
from shareguard.storage.base import today, utcnow
from tests import factories
from tests.factories import TestWorld

DL_ITEMS = ("name", "date_of_birth", "lawfully_resident", "valid_until")
ANSWER = {
    "name": "Testa Person",
    "date_of_birth": "1990-01-01",
    "lawfully_resident": True,
    "valid_until": "2030-01-01",
    "nationality": "Testland",
    "document_number": "X123",
    "outcome": "confirmed",
}


def request(world: TestWorld, agreement_id=None, **kw) -> DisclosureRequest:
    fields = {
        "principal": world.principals["agency"],
        "action": "check",
        "agreement_id": agreement_id,
        "purpose": "driving_licence",
        "data_items": DL_ITEMS,
        "subject": Subject(ref="person-1", date_of_birth=date(1990, 1, 1)),
        "check_method": "share_code",
    }
    fields.update(kw)
    return DisclosureRequest(**fields)


def audit_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def disclosure_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Disclosure)) or 0)


def test_in_force_agreement_permits_its_recipient(world: TestWorld, session: Session) -> None:
    aid = world.agreement(reference="T-DL-001")
    decision = decide(session, request(world, aid))
    assert decision.allowed and decision.kind == "permit"
    assert "T-DL-001" in decision.reason
    assert decision.policies == (f"agreement:{aid}",)


def test_agreement_is_found_when_not_named(world: TestWorld, session: Session) -> None:
    aid = world.agreement()
    found = agreement_for(session, world.principals["agency"], "driving_licence")
    assert found is not None and found.id == aid
    assert decide(session, request(world, None)).allowed
    assert agreement_for(session, world.principals["bank"], "driving_licence") is None
    refused = decide(session, request(world, None, principal=world.principals["bank"]))
    assert not refused.allowed and refused.kind == "no_agreement"


def test_other_organisation_and_extra_items_are_refused(world: TestWorld, session: Session) -> None:
    aid = world.agreement(reference="T-DL-002")
    other = decide(session, request(world, aid, principal=world.principals["bank"]))
    assert (other.allowed, other.kind) == (False, "no_agreement")
    assert "not a recipient" in other.reason
    wider = decide(session, request(world, aid, data_items=(*DL_ITEMS, "nationality")))
    assert not wider.allowed and "nationality" in wider.reason
    wrong_purpose = decide(session, request(world, aid, purpose="bank_account"))
    assert not wrong_purpose.allowed and "bank_account" in wrong_purpose.reason


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ("draft", "is a draft"),
        ("paused", "is paused"),
        ("ended", "has ended"),
        ("lapsed", "lapsed"),
        ("not_started", "does not start"),
    ],
)
def test_agreement_not_in_force_permits_nothing(
    world: TestWorld, session: Session, setup: str, words: str
) -> None:
    svc = AgreementService(session)
    officer = world.principals["officer"]
    if setup == "draft":
        aid = world.agreement(activate=False)
    elif setup == "not_started":
        aid = world.agreement(start_date=today() + timedelta(days=5))
    else:
        aid = world.agreement()
    at = None
    if setup == "lapsed":
        # A year on, the review date (300 days away) has passed with no review recorded.
        at = datetime.now(UTC) + timedelta(days=365)
    elif setup in {"paused", "ended"}:
        svc.transition(aid, "pause" if setup == "paused" else "end", officer, "test")
    decision = decide(session, request(world, aid, at=at))
    assert not decision.allowed
    assert decision.kind == "agreement_state"
    assert words in decision.reason


def test_school_census_agreement_is_still_refused_by_the_firewall(
    world: TestWorld, session: Session
) -> None:
    aid = world.agreement(
        purposes=["immigration_enforcement"],
        data_items=["name", "date_of_birth", "nationality", "address", "school_census"],
        parties=[
            {"organisation": "Test Department", "role": "discloser"},
            {"organisation": "Test Agency", "role": "recipient"},
        ],
        bulk=True,
    )
    ask = request(
        world,
        aid,
        action="bulk_disclosure",
        purpose="immigration_enforcement",
        data_items=("name", "school_census"),
    )
    decision = decide(session, ask)
    assert not decision.allowed
    assert decision.kind == "firewall"
    assert decision.reason == (
        "Refused: firewall rule 'Pupil data is never used for immigration enforcement'"
    )
    assert decision.policies == ("firewall:pupil-data",)
    # A pupil's data is protected even when no school census item is asked for.
    pupil = Subject(ref="p-2", categories=frozenset({"pupil"}))
    assert (
        decide(
            session,
            request(
                world,
                aid,
                action="bulk_disclosure",
                purpose="immigration_enforcement",
                data_items=("name",),
                subject=pupil,
            ),
        ).kind
        == "firewall"
    )
    # The same agreement still permits what the firewall does not cover.
    assert decide(
        session,
        request(
            world,
            aid,
            action="bulk_disclosure",
            purpose="immigration_enforcement",
            data_items=("name",),
        ),
    ).allowed


def test_disclose_minimises_records_and_audits(world: TestWorld, session: Session) -> None:
    aid = world.agreement(data_items=["name", "lawfully_resident", "valid_until"])
    before = audit_count(session)
    out = disclose(
        session,
        request(world, aid, data_items=("name", "lawfully_resident", "valid_until")),
        ANSWER,
        kind="check_answer",
        record_refs=["rec-1"],
    )
    session.commit()
    assert out.decision.allowed
    assert out.answer == {
        "name": "Testa Person",
        "lawfully_resident": True,
        "valid_until": "2030-01-01",
    }
    assert audit_count(session) == before + 1
    row = session.get(Disclosure, out.disclosure_id)
    assert row is not None
    assert (row.agreement_id, row.purpose, row.kind) == (aid, "driving_licence", "check_answer")
    assert row.recipient_org_id == world.orgs["agency"]
    assert row.record_refs == ["rec-1"] and row.audit_entry_id == out.audit_entry_id
    entry = session.get(AuditEntry, out.audit_entry_id)
    assert entry is not None
    assert (entry.action, entry.decision) == ("disclosure.check_answer", "permit")
    assert entry.payload_hash == row.payload_hash
    assert "Testa" not in str(entry.details) and "Testa" not in str(entry.reasons)


def test_refusal_is_audited_and_discloses_nothing(world: TestWorld, session: Session) -> None:
    aid = world.agreement()
    AgreementService(session).transition(aid, "pause", world.principals["officer"], "test")
    before_audit, before_rows = audit_count(session), disclosure_count(session)
    out = disclose(session, request(world, aid), ANSWER, kind="check_answer")
    session.commit()
    assert not out.decision.allowed and out.answer is None and out.disclosure_id is None
    assert audit_count(session) == before_audit + 1
    assert disclosure_count(session) == before_rows
    entry = session.get(AuditEntry, out.audit_entry_id)
    assert entry is not None and (entry.action, entry.decision) == ("policy.deny", "deny")
    assert entry.reasons == [out.decision.reason]


def test_rollback_removes_answer_record_and_audit_together(
    world: TestWorld, session: Session
) -> None:
    aid = world.agreement()
    before_audit, before_rows = audit_count(session), disclosure_count(session)
    disclose(session, request(world, aid), ANSWER, kind="check_answer")
    session.rollback()
    assert (audit_count(session), disclosure_count(session)) == (before_audit, before_rows)


def test_daily_limit_refuses_the_excess(world: TestWorld, session: Session) -> None:
    aid = world.agreement(limit_per_day=2)
    results = [
        disclose(session, request(world, aid), ANSWER, kind="check_answer") for _ in range(3)
    ]
    session.commit()
    assert [r.decision.allowed for r in results] == [True, True, False]
    assert results[2].decision.kind == "limit"
    assert "2 records a day" in results[2].decision.reason
    assert decide(session, request(world, aid)).kind == "limit"
    entry = session.get(AuditEntry, results[2].audit_entry_id)
    assert entry is not None and entry.decision == "deny"


def test_run_limit_refuses_the_excess_of_a_batch(world: TestWorld, session: Session) -> None:
    aid = world.agreement(bulk=True, limit_per_run=2, limit_per_day=100)
    items = [
        (request(world, aid, action="bulk_disclosure", subject=Subject(ref=f"p{i}")), ANSWER, ())
        for i in range(3)
    ]
    before = audit_count(session)
    out = disclose_many(session, items, kind="match_result")
    session.commit()
    assert [o.decision.kind for o in out] == ["permit", "permit", "limit"]
    assert audit_count(session) == before + 3
    assert len({o.audit_entry_id for o in out}) == 3


def test_bad_requests_are_refused_whole(world: TestWorld, session: Session) -> None:
    aid = world.agreement()
    before = audit_count(session)
    with pytest.raises(InvalidInput, match="unknown data item"):
        disclose(
            session, request(world, aid, data_items=("shoe_size",)), ANSWER, kind="check_answer"
        )
    with pytest.raises(InvalidInput, match="unknown purpose"):
        decide(session, request(world, aid, purpose="curiosity"))
    with pytest.raises(InvalidInput, match="unknown action"):
        decide(session, request(world, aid, action="sell"))
    with pytest.raises(InvalidInput, match="kind"):
        disclose(session, request(world, aid), ANSWER, kind="gossip")
    assert audit_count(session) == before


def test_minimise_keeps_only_agreement_items_in_the_answer_shape(world: TestWorld) -> None:
    class A:
        data_items = ["name", "valid_until", "nationality"]

    assert minimise(ANSWER, "driving_licence", A()) == {
        "name": "Testa Person",
        "valid_until": "2030-01-01",
    }
    assert minimise(ANSWER, "unknown", A()) == {}


def test_partner_user_acts_for_their_organisation(world: TestWorld, session: Session) -> None:
    aid = world.agreement()
    assert decide(session, request(world, aid, principal=world.principals["agency_user"])).allowed


def test_subject_access_is_for_the_person_or_a_caseworker(
    world: TestWorld, session: Session
) -> None:
    import uuid

    from shareguard.accounts.principal import Principal

    person = uuid.uuid4()
    subject = Subject(ref=str(person))
    own = Principal(organisation_id=None, person_id=person)
    stranger = Principal(organisation_id=None, person_id=uuid.uuid4())
    ask = {
        "action": "subject_access",
        "purpose": "right_to_work",
        "subject": subject,
        "data_items": ("name", "may_work"),
    }
    out = disclose(
        session,
        request(world, None, principal=own, **ask),
        ANSWER | {"may_work": True},
        kind="credential",
    )
    assert out.decision.allowed and out.answer == {"name": "Testa Person", "may_work": True}
    assert decide(
        session, request(world, None, principal=world.principals["caseworker"], **ask)
    ).allowed
    refused = decide(session, request(world, None, principal=stranger, **ask))
    assert not refused.allowed and "only the person" in refused.reason


def test_deciding_for_many_people_at_once_decides_each_as_alone(world: TestWorld) -> None:
    """``decide_subjects`` gives each person the decision ``decide_many`` gives them alone, and
    evaluates one of each kind of person: age either side of a pause's threshold,
    categories, appeal state and locks told apart."""
    aid = world.agreement()
    factories.pause(world, age_over=30, actions=["check"])
    on = today()

    def born(years: int, days: int = 0) -> date:
        try:
            day = on.replace(year=on.year - years)
        except ValueError:  # 29 February
            day = on.replace(year=on.year - years, day=28)
        return day + timedelta(days=days)

    subjects = [
        Subject(
            ref=str(uuid.uuid4()),
            date_of_birth=dob,
            categories=cats,
            appeal_state=appeal,
            locks=locks,
        )
        for dob in (born(31), born(31, 1), born(20), born(60), None)
        for cats in (frozenset(), frozenset({"patient"}))
        for appeal in ("none", "pending")
        for locks in (frozenset(), frozenset({"attribute_checks"}))
    ]
    template = request(world, aid, at=utcnow() + timedelta(seconds=5))
    alone = decide_many(world.session, [replace(template, subject=s) for s in subjects])
    together = decide_subjects(world.session, template, subjects)
    assert together == alone
    kinds = [d.kind for d in together]
    assert kinds[:8] == ["pause"] * 8  # 31 today
    assert "pause" not in kinds[8:24]  # 30 until tomorrow, and 20
    assert kinds[24:32] == ["pause"] * 8  # 60
    assert kinds[32:] == ["pause"] * 8  # age unknown: paused too

"""Agreement lifecycle: transitions keep history, activation checks completeness and sign-off."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shareguard.agreements.schemas import AgreementIn
from shareguard.agreements.service import AgreementService
from shareguard.errors import Conflict, Forbidden, InvalidInput
from shareguard.storage.base import today
from tests.factories import agreement_fields


def test_full_lifecycle_keeps_actor_time_and_reason(world, session):
    svc = AgreementService(session)
    a = svc.create(AgreementIn(**agreement_fields()), world.principals["officer"])
    assert a.state == "draft"
    svc.transition(a.id, "activate", world.principals["officer2"])
    svc.transition(a.id, "pause", world.principals["officer"], "accuracy concerns")
    svc.transition(a.id, "resume", world.principals["officer2"], "sampling complete")
    svc.transition(a.id, "end", world.principals["officer"], "no longer needed")
    session.expire_all()
    a = svc.get(a.id)
    assert a.state == "ended"
    history = [(e.action, e.from_state, e.to_state, e.actor_id, e.reason) for e in a.events]
    assert history == [
        ("create", None, "draft", world.users["officer"], "created as draft"),
        ("activate", "draft", "active", world.users["officer2"], ""),
        ("pause", "active", "paused", world.users["officer"], "accuracy concerns"),
        ("resume", "paused", "active", world.users["officer2"], "sampling complete"),
        ("end", "active", "ended", world.users["officer"], "no longer needed"),
    ]
    assert all(e.at is not None and e.at.tzinfo is not None for e in a.events)
    assert a.signed_off_by == world.users["officer2"]


@pytest.mark.parametrize(
    ("state_actions", "action"),
    [([], "pause"), ([], "resume"), (["activate"], "activate"), (["activate", "end"], "resume")],
)
def test_illegal_transitions_are_refused(world, session, state_actions, action):
    svc = AgreementService(session)
    a = svc.create(AgreementIn(**agreement_fields()), world.principals["officer"])
    for act in state_actions:
        svc.transition(a.id, act, world.principals["officer2"], "reason")
    session.commit()  # the arrangement is its own unit of work; the refusal's is undone
    before = len(svc.get(a.id).events)
    with pytest.raises(Conflict):
        svc.transition(a.id, action, world.principals["officer2"], "reason")
    session.rollback()
    assert len(svc.get(a.id).events) == before


def test_activation_names_every_missing_item(world, session):
    svc = AgreementService(session)
    fields = agreement_fields(
        legal_gateway_statute="",
        dpia_date=None,
        review_date=None,
        data_items=["name", "date_of_birth"],
        contact_point="",
    )
    a = svc.create(AgreementIn(**fields), world.principals["officer"])
    session.commit()  # the arrangement is its own unit of work; the refusal's is undone
    with pytest.raises(InvalidInput) as exc:
        svc.transition(a.id, "activate", world.principals["officer2"])
    missing = exc.value.extra["missing"]
    assert missing == [
        "legal gateway (statute)",
        "DPIA date",
        "single point of contact",
        "review date",
    ]
    assert "legal gateway (statute)" in exc.value.detail
    session.rollback()
    assert svc.get(a.id).state == "draft"


def test_special_category_data_needs_a_condition(world, session):
    svc = AgreementService(session)
    fields = agreement_fields(
        purposes=["immigration_enforcement"], data_items=["name", "health_record"]
    )
    a = svc.create(AgreementIn(**fields), world.principals["officer"])
    session.commit()  # the arrangement is its own unit of work; the refusal's is undone
    with pytest.raises(InvalidInput) as exc:
        svc.transition(a.id, "activate", world.principals["officer2"])
    assert (
        "Art 9/10 condition for special-category or criminal-offence data"
        in exc.value.extra["missing"]
    )


def test_author_cannot_sign_off_own_agreement(world, session):
    svc = AgreementService(session)
    a = svc.create(AgreementIn(**agreement_fields()), world.principals["officer"])
    session.commit()  # the arrangement is its own unit of work; the refusal's is undone
    with pytest.raises(Forbidden, match="other than the author"):
        svc.transition(a.id, "activate", world.principals["officer"])
    session.rollback()
    assert svc.get(a.id).state == "draft"
    assert svc.get(a.id).signed_off_by is None


def test_only_governance_officers_change_agreements(world, session):
    svc = AgreementService(session)
    with pytest.raises(Forbidden):
        svc.create(AgreementIn(**agreement_fields()), world.principals["caseworker"])
    a = svc.create(AgreementIn(**agreement_fields()), world.principals["officer"])
    for who in ("caseworker", "reviewer", "auditor", "agency"):
        with pytest.raises(Forbidden):
            svc.transition(a.id, "activate", world.principals[who])


def test_pause_and_end_need_a_reason(world, session):
    svc = AgreementService(session)
    a_id = world.agreement()
    with pytest.raises(InvalidInput, match="reason"):
        svc.transition(a_id, "pause", world.principals["officer"], "  ")


def test_review_date_lapse_permits_nothing_until_reviewed(world, session):
    svc = AgreementService(session)
    a_id = world.agreement(review_date=today() + timedelta(days=5))
    a = svc.get(a_id)
    assert a.in_force(today())
    later = today() + timedelta(days=6)
    assert a.review_lapsed(later) and not a.in_force(later)
    a.review_date = today() - timedelta(days=1)  # simulate the date passing
    session.commit()
    assert not svc.get(a_id).in_force(today())
    svc.review(a_id, today() + timedelta(days=200), world.principals["officer"], "still necessary")
    a = svc.get(a_id)
    assert a.in_force(today())
    assert a.events[-1].action == "review"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"data_items": ["name", "health_record"]}, "data_items[1]"),
        ({"end_date": today() - timedelta(days=30)}, "end_date"),
        (
            {
                "review_date": today() + timedelta(days=900),
                "end_date": today() + timedelta(days=100),
            },
            "review_date",
        ),
    ],
)
def test_inconsistent_agreements_are_refused_whole(world, session, overrides, field):
    svc = AgreementService(session)
    with pytest.raises(InvalidInput) as exc:
        svc.create(AgreementIn(**agreement_fields(**overrides)), world.principals["officer"])
    assert exc.value.field == field
    session.rollback()
    assert svc.find()[1] == 0

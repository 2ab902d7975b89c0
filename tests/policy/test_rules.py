"""Firewall changes need two officers; pauses block at once; locks; keys die with agreements."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.agreements.service import AgreementService
from shareguard.audit.models import AuditEntry
from shareguard.errors import Forbidden, InvalidInput
from shareguard.policy import DisclosureRequest, Subject, decide, disclose
from shareguard.policy.models import FirewallRule, Pause
from shareguard.policy.schemas import FirewallProposalIn, FirewallRuleFields, PauseIn
from shareguard.policy.service import FirewallService, PauseService
from shareguard.storage.base import today, utcnow
from tests.factories import TestWorld, integrated
from tests.policy.test_door import ANSWER, DL_ITEMS, request


def born_years_ago(years: int) -> date:
    on = today()
    return on.replace(year=on.year - years) - timedelta(days=1)


def actions(session: Session, prefix: str) -> list[str]:
    integrated(session)  # log order: numbers come at integration
    stmt = select(AuditEntry.action).where(AuditEntry.action.like(f"{prefix}%"))
    return list(session.scalars(stmt.order_by(AuditEntry.seq)))


# -- firewall ------------------------------------------------------------------------------
def test_shipped_rules_are_seeded_on_first_use(world: TestWorld, session: Session) -> None:
    keys = [r.key for r in FirewallService(session).rules()]
    assert keys == ["health-care", "pupil-data", "victims-witnesses"]


def test_firewall_change_needs_a_second_officer(world: TestWorld, session: Session) -> None:
    svc = FirewallService(session)
    officer, officer2 = world.principals["officer"], world.principals["officer2"]
    proposal = FirewallProposalIn(
        operation="create",
        key="asylum-support",
        rule=FirewallRuleFields(
            title="Asylum support records are never used for enforcement",
            data_items=["address"],
        ),
        reason="charities asked for it",
    )
    with pytest.raises(Forbidden):
        svc.propose(proposal, world.principals["caseworker"])
    change = svc.propose(proposal, officer)
    # Proposed is not in force: an enforcement agreement can still get addresses.
    aid = world.agreement(purposes=["immigration_enforcement"], data_items=["name", "address"])
    ask = request(world, aid, purpose="immigration_enforcement", data_items=("name", "address"))
    assert decide(session, ask).allowed
    with pytest.raises(Forbidden, match="second governance officer"):
        svc.approve(change.id, officer)
    svc.approve(change.id, officer2, "agreed")
    refused = decide(session, ask)
    assert refused.kind == "firewall" and "Asylum support" in refused.reason
    assert actions(session, "firewall.") == ["firewall.propose", "firewall.change"]


def test_retiring_a_rule_takes_two_officers_and_is_audited(
    world: TestWorld, session: Session
) -> None:
    svc = FirewallService(session)
    change = svc.propose(
        FirewallProposalIn(operation="retire", key="health-care", reason="test"),
        world.principals["officer"],
    )
    svc.approve(change.id, world.principals["officer2"])
    rule = session.scalar(select(FirewallRule).where(FirewallRule.key == "health-care"))
    assert rule is not None and not rule.active and rule.version == 2
    assert "health-care" not in [r.key for r in svc.rules()]


def test_bad_firewall_proposal_changes_nothing(world: TestWorld, session: Session) -> None:
    svc = FirewallService(session)
    with pytest.raises(InvalidInput, match="no active firewall rule"):
        svc.propose(
            FirewallProposalIn(operation="retire", key="no-such-rule", reason="test"),
            world.principals["officer"],
        )
    with pytest.raises(ValueError, match="unknown data item"):
        FirewallRuleFields(title="Bad rule here", data_items=["shoe_size"])
    assert svc.changes() == []


# -- pauses --------------------------------------------------------------------------------
def over_30_pause(world: TestWorld, aid, **kw) -> PauseIn:
    fields = {
        "title": "No proactive sharing about people aged over 30",
        "reason": "Pre-1973 arrivals review",
        "agreements": [str(aid)],
        "actions": ["bulk_disclosure"],
        "age_over": 30,
    }
    fields.update(kw)
    return PauseIn(**fields)


def test_over_30_pause_blocks_proactive_sharing_at_once(world: TestWorld, session: Session) -> None:
    earlier = utcnow() - timedelta(days=3 * 365)
    aid = world.agreement(bulk=True, start_date=today() - timedelta(days=4 * 365))
    older = Subject(ref="older", date_of_birth=born_years_ago(31))
    younger = Subject(ref="younger", date_of_birth=born_years_ago(29))
    bulk = {"action": "bulk_disclosure"}
    assert decide(session, request(world, aid, subject=older, **bulk)).allowed
    pause = PauseService(session).create(
        over_30_pause(world, aid, starts_at=earlier - timedelta(days=1)),
        world.principals["officer"],
    )
    refused = decide(session, request(world, aid, subject=older, **bulk))
    assert refused.kind == "pause"
    assert "aged over 30" in refused.reason and "Pre-1973 arrivals review" in refused.reason
    assert decide(session, request(world, aid, subject=younger, **bulk)).allowed
    # Checks under the same agreement are outside the pause's scope.
    assert decide(session, request(world, aid, subject=older)).allowed
    # Age is computed on the decision date: three years ago the same person was 28.
    assert decide(session, request(world, aid, subject=older, at=earlier, **bulk)).allowed
    PauseService(session).lift(pause.id, world.principals["officer"], "review done")
    assert decide(session, request(world, aid, subject=older, **bulk)).allowed
    assert actions(session, "pause.") == ["pause.create", "pause.lift"]


def test_pause_ending_before_it_starts_is_refused_and_writes_nothing(
    world: TestWorld, session: Session
) -> None:
    aid = world.agreement()
    start = datetime(2026, 1, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="ends before it starts") as err:
        PauseService(session).create(
            over_30_pause(world, aid, starts_at=start, ends_at=start - timedelta(days=1)),
            world.principals["officer"],
        )
    assert err.value.field == "ends_at"
    with pytest.raises(InvalidInput, match="no agreement"):
        PauseService(session).create(
            over_30_pause(world, aid, agreements=["NO-SUCH-1"]), world.principals["officer"]
        )
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Pause)) == 0
    assert actions(session, "pause.") == []


def test_pause_with_an_end_stops_blocking_after_it(world: TestWorld, session: Session) -> None:
    aid = world.agreement()
    start = utcnow() - timedelta(days=2)
    PauseService(session).create(
        PauseIn(
            title="Short pause on checks",
            reason="incident",
            agreements=[str(aid)],
            starts_at=start,
            ends_at=start + timedelta(days=1),
        ),
        world.principals["officer"],
    )
    assert decide(session, request(world, aid)).allowed
    assert decide(session, request(world, aid, at=start + timedelta(hours=1))).kind == "pause"


# -- locks ---------------------------------------------------------------------------------
def test_lock_refuses_non_statutory_attribute_checks_only(
    world: TestWorld, session: Session
) -> None:
    bank = world.agreement(
        purposes=["bank_account"],
        parties=[
            {"organisation": "Test Department", "role": "discloser"},
            {"organisation": "Test Bank", "role": "recipient"},
        ],
    )
    dl = world.agreement()
    locked = Subject(ref="locked", locks=frozenset({"attribute_checks"}))

    def ask(aid, purpose, method, principal):
        return DisclosureRequest(principal, "check", aid, purpose, DL_ITEMS, locked, method)

    by_attributes = disclose(
        session,
        ask(bank, "bank_account", "attributes", world.principals["bank"]),
        ANSWER,
        kind="check_answer",
    )
    assert by_attributes.decision.kind == "lock" and by_attributes.answer is None
    assert decide(
        session, ask(bank, "bank_account", "share_code", world.principals["bank"])
    ).allowed
    statutory = decide(
        session, ask(dl, "driving_licence", "attributes", world.principals["agency"])
    )
    assert statutory.allowed
    entry = session.get(AuditEntry, by_attributes.audit_entry_id)
    assert entry is not None and entry.decision == "deny"
    assert entry.details["kind"] == "lock"


# -- keys tied to agreements (issue 10 part 3) ----------------------------------------------
def test_pausing_an_agreement_stops_its_key_for_that_purpose_only(
    world: TestWorld, session: Session
) -> None:
    from shareguard.accounts.service import AccountService

    dl = world.agreement(reference="T-KEY-DL")
    nhs = world.agreement(
        reference="T-KEY-NHS", purposes=["nhs_charging"], data_items=["name", "exempt_from_charges"]
    )
    other = world.agreement(
        reference="T-KEY-OTHER",
        purposes=["benefit_entitlement"],
        data_items=["name", "public_funds"],
    )
    accounts = AccountService(session)
    _, token = accounts.issue_key(world.orgs["agency"], "scoped", agreement_ids=[dl, nhs])
    key = accounts.authenticate_key(token)

    def ask(purpose: str, items: tuple[str, ...]) -> DisclosureRequest:
        return request(world, None, principal=key, purpose=purpose, data_items=items)

    assert decide(session, ask("driving_licence", ("name",))).allowed
    assert decide(session, ask("nhs_charging", ("name",))).allowed
    scope = decide(session, ask("benefit_entitlement", ("name",)))
    assert scope.kind == "key_scope" and "T-KEY-OTHER" in scope.reason
    named = decide(
        session,
        request(world, other, principal=key, purpose="benefit_entitlement", data_items=("name",)),
    )
    assert named.kind == "key_scope"

    AgreementService(session).transition(dl, "pause", world.principals["officer"], "incident")
    paused = decide(session, ask("driving_licence", ("name",)))
    assert (paused.allowed, paused.kind) == (False, "agreement_state")
    assert paused.reason == "Refused: agreement T-KEY-DL is paused"
    assert decide(session, ask("nhs_charging", ("name",))).allowed

    # The day after its review date passes unreviewed, the key stops working for it too.
    review = AgreementService(session).get(nhs).review_date
    assert review is not None
    later = datetime.combine(review + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    lapsed = decide(session, replace(ask("nhs_charging", ("name",)), at=later))
    assert lapsed.kind == "agreement_state" and "review was due" in lapsed.reason


def test_activation_warns_when_a_firewall_rule_shadows_the_agreement(
    world: TestWorld, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="shareguard.policy"):
        aid = world.agreement(
            reference="T-SHADOW",
            purposes=["immigration_enforcement"],
            data_items=["school_census"],
            bulk=True,
        )
    warnings = session.info["policy_warnings"][aid]
    assert warnings[0] == "every permit of this agreement is shadowed by a firewall rule"
    assert any("Pupil data" in w for w in warnings)
    assert "T-SHADOW" in caplog.text and "shadowed" in caplog.text
    assert not any("does not validate" in w for w in warnings)
    plain = world.agreement(reference="T-PLAIN")
    assert session.info["policy_warnings"][plain] == []

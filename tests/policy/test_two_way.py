"""The door faces both ways: every flow names its discloser and recipient, and the firewall
protects data whichever way it would flow."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from shareguard.accounts.service import AccountService
from shareguard.agreements.schemas import PartyIn
from shareguard.audit.models import AuditEntry
from shareguard.policy import DisclosureRequest, Subject, decide, disclose
from shareguard.policy.models import Disclosure
from tests.factories import TestWorld

ENFORCEMENT_ITEMS = ["name", "date_of_birth", "address", "postcode"]


def inbound(world: TestWorld, discloser: str = "Test Agency", **kw: object):  # type: ignore[no-untyped-def]
    """An agreement under which a partner sends data to the operator (Test Department)."""
    fields: dict[str, object] = {
        "purposes": ["immigration_enforcement"],
        "data_items": ENFORCEMENT_ITEMS,
        "parties": [
            PartyIn(organisation=discloser, role="discloser"),
            PartyIn(organisation="Test Department", role="recipient"),
        ],
    }
    fields.update(kw)
    return world.agreement(**fields)


def submit(world: TestWorld, aid, items, *, offered=(), categories=(), who="agency"):  # type: ignore[no-untyped-def]
    return DisclosureRequest(
        principal=world.principals[who],
        action="submit",
        agreement_id=aid,
        purpose="immigration_enforcement",
        data_items=tuple(items),
        offered_items=tuple(offered),
        subject=Subject(ref="person-9", categories=frozenset(categories)),
    )


def test_outbound_disclosure_names_both_parties(world: TestWorld, session: Session) -> None:
    aid = world.agreement(reference="T-OUT-001")
    out = disclose(
        session,
        DisclosureRequest(
            world.principals["agency"],
            "check",
            aid,
            "driving_licence",
            ("name", "valid_until"),
            Subject(ref="person-1", date_of_birth=date(1990, 1, 1)),
        ),
        {"name": "Testa Person", "valid_until": "2030-01-01"},
        kind="check_answer",
    )
    assert out.decision.allowed
    assert out.decision.discloser_id == world.orgs["dept"]
    assert out.decision.recipient_id == world.orgs["agency"]
    row = session.get(Disclosure, out.disclosure_id)
    assert row is not None
    assert (row.discloser_org_id, row.recipient_org_id) == (
        world.orgs["dept"],
        world.orgs["agency"],
    )
    entry = session.get(AuditEntry, out.audit_entry_id)
    assert entry is not None
    assert entry.details["discloser"] == str(world.orgs["dept"])
    assert entry.details["recipient"] == str(world.orgs["agency"])


def test_partner_submits_under_an_inbound_agreement(world: TestWorld, session: Session) -> None:
    aid = inbound(world, reference="T-IN-001")
    out = disclose(
        session,
        submit(world, aid, ["name", "address"], offered=["name", "address"]),
        {"name": "Testa Person", "address": "1 Test Street", "shoe_size": "9"},
        kind="inbound",
    )
    assert out.decision.allowed, out.decision.reason
    assert out.answer == {"name": "Testa Person", "address": "1 Test Street"}
    row = session.get(Disclosure, out.disclosure_id)
    assert row is not None
    assert (row.discloser_org_id, row.recipient_org_id) == (
        world.orgs["agency"],
        world.orgs["dept"],
    )
    entry = session.get(AuditEntry, out.audit_entry_id)
    assert entry is not None and entry.details["dropped"] == ["shoe_size"]
    assert "Testa" not in str(entry.details)


def test_wrong_direction_is_refused_with_a_reason(world: TestWorld, session: Session) -> None:
    aid = inbound(world, reference="T-IN-002")
    # The agency sends under this agreement; it cannot receive under it.
    got = decide(
        session,
        DisclosureRequest(
            world.principals["agency"], "check", aid, "immigration_enforcement", ("name",)
        ),
    )
    assert not got.allowed and "runs the other way" in got.reason
    # And the operator receives under it; it cannot send under it.
    sent = decide(session, submit(world, aid, ["name"], who="caseworker"))
    assert not sent.allowed and "runs the other way" in sent.reason
    # A party that is not on the agreement at all.
    bank = decide(session, submit(world, aid, ["name"], who="bank"))
    assert not bank.allowed and "not a discloser" in bank.reason


def test_firewalled_item_is_refused_inbound_even_when_it_would_be_dropped(
    world: TestWorld, session: Session
) -> None:
    aid = inbound(world, reference="T-IN-003")
    # health_record is not in the agreement, so minimising would drop it; the firewall refuses.
    out = disclose(
        session,
        submit(world, aid, ["name"], offered=["name", "health_record"]),
        {"name": "Testa Person", "health_record": "x"},
        kind="inbound",
    )
    assert not out.decision.allowed and out.decision.kind == "firewall"
    assert "Health-care" in out.decision.reason
    assert out.answer is None and out.disclosure_id is None


def test_victim_or_witness_is_refused_whoever_sends(world: TestWorld, session: Session) -> None:
    aid = inbound(world, reference="T-IN-004")
    got = decide(session, submit(world, aid, ["name"], categories=["witness"]))
    assert not got.allowed and got.kind == "firewall"
    assert "Victims and witnesses" in got.reason


def test_request_to_an_nhs_body_for_enforcement_is_refused(
    world: TestWorld, session: Session
) -> None:
    AccountService(session).create_organisation("Test NHS Trust", "nhs_body")
    aid = inbound(world, discloser="Test NHS Trust", reference="T-IN-005")
    got = decide(
        session,
        DisclosureRequest(
            world.principals["caseworker"],
            "request",
            aid,
            "immigration_enforcement",
            ("address",),
            Subject(ref="person-2"),
        ),
    )
    assert not got.allowed and got.kind == "firewall"
    assert got.policies[0] == "firewall:health-care"
    # The same request to a partner the firewall does not protect is permitted.
    other = inbound(world, reference="T-IN-006")
    ok = decide(
        session,
        DisclosureRequest(
            world.principals["caseworker"],
            "request",
            other,
            "immigration_enforcement",
            ("address",),
            Subject(ref="person-2"),
        ),
    )
    assert ok.allowed, ok.reason
    assert (ok.discloser_id, ok.recipient_id) == (world.orgs["agency"], world.orgs["dept"])

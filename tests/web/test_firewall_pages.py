"""Firewall and pause pages: pause sharing, propose a rule change, a second officer approves."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shareguard.agreements.service import AgreementService
from shareguard.policy import DisclosureRequest, Subject, decide
from shareguard.policy.models import FirewallChange, FirewallRule, Pause
from shareguard.storage.base import today
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages, sign_in

DL_ITEMS = ("name", "date_of_birth", "lawfully_resident", "valid_until")


def count(world: TestWorld, model: type) -> int:
    world.session.rollback()
    found = int(world.session.scalar(select(func.count()).select_from(model)) or 0)
    world.session.rollback()
    return found


def only(world: TestWorld, column: object) -> object:
    world.session.rollback()
    found = world.session.scalars(select(column)).one()
    world.session.rollback()
    return found


def dvla_check(world: TestWorld, aid, born: date) -> str:
    """The policy's decision on a driving-licence check about a person born on ``born``."""
    world.session.rollback()
    request = DisclosureRequest(
        principal=world.principals["agency"],
        action="check",
        agreement_id=aid,
        purpose="driving_licence",
        data_items=DL_ITEMS,
        subject=Subject(ref="person-1", date_of_birth=born),
        check_method="share_code",
    )
    kind = decide(world.session, request).kind
    world.session.rollback()  # SQLite: let the console's session write
    return kind


def pause_form(ref: str, **kw: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "No checks about people aged over 30",
        "reason": "Inspection findings",
        "agreement": ref,
        "actions": ["check"],
        "age": "over",
        "age_years": "30",
    }
    data.update(kw)
    return data


def test_officer_pauses_checks_and_the_pause_refuses_them_at_once(
    client: TestClient, world: TestWorld
) -> None:
    aid = world.agreement()
    ref = AgreementService(world.session).get(aid).reference
    assert dvla_check(world, aid, date(1960, 1, 1)) == "permit"
    sign_in(client, "officer")
    firewall = client.get("/governance/firewall").text
    assert "Pause sharing" in firewall and "Propose a firewall change" in firewall
    form = client.get("/governance/pauses/new")
    assert form.status_code == 200 and ref in form.text
    token = csrf(client, "/governance/pauses/new")
    answered = client.post("/governance/pauses/new", data={"csrf_token": token, **pause_form(ref)})
    assert answered.url.path == "/governance/pauses/check"
    effect = re.search(r'id="pause-effect">\s*(.+?)\s*<', answered.text)
    assert effect and effect.group(1) == (
        f"Checks under {ref} about people aged over 30 on the date of the decision "
        "will be refused as soon as you confirm."
    )
    assert count(world, Pause) == 0  # nothing written until the officer confirms
    done = client.post("/governance/pauses/check", data={"csrf_token": token})
    assert done.url.path == "/governance/firewall"
    assert "Sharing paused: No checks about people aged over 30" in done.text
    assert f"Checks under {ref} about people aged over 30" in done.text
    assert "are refused from" in done.text and "In force" in done.text
    # The pause bites: over 30 refused, under 30 still answered.
    assert dvla_check(world, aid, date(1960, 1, 1)) == "pause"
    assert dvla_check(world, aid, today() - timedelta(days=365 * 20)) == "permit"


def test_a_pause_starting_later_says_when_and_does_not_refuse_yet(
    client: TestClient, world: TestWorld
) -> None:
    aid = world.agreement()
    ref = AgreementService(world.session).get(aid).reference
    start, end = today() + timedelta(days=3), today() + timedelta(days=10)
    sign_in(client, "officer")
    token = csrf(client, "/governance/pauses/new")
    data = pause_form(
        "all",
        age="",
        actions=[],
        purposes=["driving_licence"],
        **{"start-day": start.day, "start-month": start.month, "start-year": start.year},
        **{"end-day": end.day, "end-month": end.month, "end-year": end.year},
    )
    check = client.post("/governance/pauses/new", data={"csrf_token": token, **data})
    when = f"{start.day} {start:%B %Y} at 12:00am"
    assert (
        "Disclosures under any agreement for driving licence eligibility will be refused from "
        f"{when} until the end of {end.day} {end:%B %Y}." in check.text
    )
    client.post("/governance/pauses/check", data={"csrf_token": token})
    assert "Starts later" in client.get("/governance/firewall").text
    assert dvla_check(world, aid, date(1960, 1, 1)) == "permit"
    assert ref  # the agreement exists but the pause names none


def test_bad_pause_answers_are_refused_with_the_field_named_and_nothing_written(
    client: TestClient, world: TestWorld
) -> None:
    world.agreement()
    sign_in(client, "officer")
    token = csrf(client, "/governance/pauses/new")
    past = today() - timedelta(days=2)
    response = client.post(
        "/governance/pauses/new",
        data={
            "csrf_token": token,
            **pause_form(
                "NO-SUCH-1",
                title="Hi",
                reason="",
                age_years="old",
                **{"start-day": past.day, "start-month": past.month, "start-year": past.year},
                **{"end-day": "31", "end-month": "2", "end-year": "2027"},
            ),
        },
    )
    assert response.status_code == 422
    assert error_messages(response.text) == [
        "Enter a title for the pause of at least 5 characters",
        "Enter the reason for the pause",
        "Select an agreement from the list, or every agreement",
        "Age must be a whole number of years from 0 to 150",
        "Start date must be today or in the future",
        "End date must be a real date, for example 31 12 2026",
    ]
    assert 'value="old"' in response.text  # the answers are kept to correct
    # Straight to the confirmation with no answers: back to the question, nothing written.
    again = client.post("/governance/pauses/check", data={"csrf_token": token})
    assert again.status_code == 422
    assert count(world, Pause) == 0


START_WRONG = "Start date must be a real date, for example 1 12 2026"
END_WRONG = "End date must be a real date, for example 31 12 2026"


@pytest.mark.parametrize(
    ("start_year", "end_year", "message"),
    [
        ("99999999999999999999999", "2027", START_WRONG),
        ("0", "2027", START_WRONG),
        ("2027", "9999", END_WRONG),  # its last day is the calendar's: no day after it
        ("2027", "-1", END_WRONG),
    ],
)
def test_dates_past_any_calendar_are_refused_as_dates_not_a_server_error(
    client: TestClient, world: TestWorld, start_year: str, end_year: str, message: str
) -> None:
    aid = world.agreement()
    ref = AgreementService(world.session).get(aid).reference
    sign_in(client, "officer")
    token = csrf(client, "/governance/pauses/new")
    response = client.post(
        "/governance/pauses/new",
        data={
            "csrf_token": token,
            **pause_form(
                ref,
                **{"start-day": "1", "start-month": "1", "start-year": start_year},
                **{"end-day": "31", "end-month": "12", "end-year": end_year},
            ),
        },
    )
    assert response.status_code == 422
    assert error_messages(response.text) == [message]
    assert count(world, Pause) == 0


def test_two_officers_change_the_firewall_the_proposer_cannot_approve(
    client: TestClient, world: TestWorld
) -> None:
    sign_in(client, "officer")
    token = csrf(client, "/governance/firewall/changes/new")
    proposed = client.post(
        "/governance/firewall/changes/new",
        data={
            "csrf_token": token,
            "operation": "create",
            "key": "asylum-support",
            "title": "Asylum support records are never used for enforcement",
            "data_items": ["address"],
            "reason": "Charities asked for it",
        },
    )
    assert proposed.url.path == "/governance/firewall"
    assert "Change proposed: add a rule asylum-support" in proposed.text
    assert "A second governance officer must approve it" in proposed.text
    assert "Waiting for another officer" in proposed.text
    assert 'value="approve"' not in proposed.text
    change_id = only(world, FirewallChange.id)
    # The proposer's own approval is refused with the service's reason, and nothing changes.
    refused = client.post(
        f"/governance/firewall/changes/{change_id}/decision",
        data={"csrf_token": token, "decision": "approve"},
    )
    assert refused.status_code == 403
    assert error_messages(refused.text) == [
        "A firewall change needs sign-off by a second governance officer"
    ]
    assert count(world, FirewallRule) == 3
    client.post("/sign-out", data={"csrf_token": token})

    sign_in(client, "officer2")
    page = client.get("/governance/firewall").text
    assert "Waiting for another officer" not in page and 'value="approve"' in page
    token = csrf(client, "/governance/firewall")
    approved = client.post(
        f"/governance/firewall/changes/{change_id}/decision",
        data={"csrf_token": token, "decision": "approve", "note": "Checked with legal"},
    )
    assert "Change approved: add a rule asylum-support" in approved.text
    assert "Asylum support records are never used for enforcement" in approved.text
    assert "No changes are waiting." in approved.text
    assert count(world, FirewallRule) == 4
    again = client.post(
        f"/governance/firewall/changes/{change_id}/decision",
        data={"csrf_token": token, "decision": "reject"},
    )
    assert again.status_code == 409
    assert error_messages(again.text) == ["This change is already approved"]


def test_second_officer_rejects_a_retirement_and_the_rule_stays(
    client: TestClient, world: TestWorld
) -> None:
    sign_in(client, "officer")
    form = client.get("/governance/firewall/changes/new?operation=retire&rule=pupil-data")
    assert 'value="pupil-data" checked' in form.text
    token = csrf(client, "/governance/firewall/changes/new")
    client.post(
        "/governance/firewall/changes/new",
        data={"csrf_token": token, "operation": "retire", "rule": "pupil-data", "reason": "Test"},
    )
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, "officer2")
    change_id = only(world, FirewallChange.id)
    rejected = client.post(
        f"/governance/firewall/changes/{change_id}/decision",
        data={"csrf_token": csrf(client, "/governance/firewall"), "decision": "reject"},
    )
    assert "Change rejected: pupil-data" in rejected.text
    assert "Pupil data is never used for immigration enforcement" in rejected.text
    assert only(world, FirewallChange.status) == "rejected"


def test_bad_proposals_name_the_field_and_write_nothing(
    client: TestClient, world: TestWorld
) -> None:
    sign_in(client, "officer")
    token = csrf(client, "/governance/firewall/changes/new")
    empty = client.post("/governance/firewall/changes/new", data={"csrf_token": token})
    assert empty.status_code == 422
    assert error_messages(empty.text) == [
        "Select whether to add, change or retire a rule",
        "Enter the reason for the change",
    ]
    clash = client.post(
        "/governance/firewall/changes/new",
        data={
            "csrf_token": token,
            "operation": "create",
            "key": "pupil-data",
            "title": "x",
            "reason": "Because",
        },
    )
    assert error_messages(clash.text) == [
        "A rule with this short name exists: choose change a rule instead",
        "Enter the rule's title of at least 5 characters",
    ]
    update = client.post(
        "/governance/firewall/changes/new",
        data={"csrf_token": token, "operation": "update", "title": "A title", "reason": "Why"},
    )
    assert error_messages(update.text) == ["Select the rule to change or retire"]
    assert count(world, FirewallChange) == 0


def test_auditor_reads_but_has_no_buttons_or_forms(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "officer")
    token = csrf(client, "/governance/firewall/changes/new")
    client.post(
        "/governance/firewall/changes/new",
        data={"csrf_token": token, "operation": "retire", "rule": "health-care", "reason": "Test"},
    )
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, "auditor")
    page = client.get("/governance/firewall").text
    assert "Retire a rule: <code>health-care</code>" in page
    for hidden in ("Pause sharing", "Propose a firewall change", 'value="approve"', "Waiting for"):
        assert hidden not in page
    assert client.get("/governance/pauses/new").status_code == 403
    assert client.get("/governance/firewall/changes/new").status_code == 403
    change_id = only(world, FirewallChange.id)
    token = csrf(client, "/governance/firewall")
    denied = client.post(
        f"/governance/firewall/changes/{change_id}/decision",
        data={"csrf_token": token, "decision": "approve"},
    )
    assert denied.status_code == 403
    assert count(world, FirewallRule) == 3

"""Partner rectification notices inbox: a correction reaches the partner, who acknowledges it."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from shareguard.checks import CheckService
from shareguard.corrections.service import CorrectionService
from shareguard.status.models import Person, StatusRecord
from shareguard.storage.base import today
from tests import factories
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, sign_in


def _checked_worker(
    world: TestWorld, given: str, family: str, born: date
) -> tuple[Person, StatusRecord, str]:
    """A person on limited leave recorded as not allowed to work, with a right-to-work code."""
    person = factories.person(world, given, family, born)
    record = factories.status_record(
        world, person.id, valid_from=today() - timedelta(days=30), may_work=False
    )
    _, code = factories.share_code(world, person.id, commit=False)
    return person, record, code


def _notice_for_agency(world: TestWorld) -> None:
    """The agency checks a person's right to work; a caseworker then corrects the record."""
    world.agreement(
        purposes=["right_to_work"],
        data_items=["name", "photo_ref", "may_work", "work_conditions", "valid_until"],
    )
    caseworker = world.principals["caseworker"]
    _, record, code = _checked_worker(world, "Noa", "Noticecase", date(1988, 2, 3))
    agency_user = world.principals["agency_user"]
    CheckService(world.session).share_code_check(
        agency_user, code, date(1988, 2, 3), "right_to_work"
    )
    CorrectionService(world.session).correct(
        caseworker,
        target_kind="status_record",
        target_id=record.id,
        reason="Work condition recorded wrongly",
        evidence_ref="CASE-1",
        changes={"may_work": True},
    )
    world.session.commit()  # the test is the boundary: services never commit


def test_partner_acknowledges_a_rectification_notice(client: TestClient, world: TestWorld) -> None:
    _notice_for_agency(world)
    sign_in(client, "agency_user")
    inbox = client.get("/notices")
    assert inbox.status_code == 200 and "1 notice to acknowledge" in inbox.text
    assert "To do" in inbox.text
    link = inbox.text.split('href="/notices/')[1].split('"')[0]
    page = client.get(f"/notices/{link}")
    assert "What you must do" in page.text
    done = client.post(
        f"/notices/{link}",
        data={"csrf_token": csrf(client, "/notices"), "note": "Payroll record updated"},
    )
    assert "acknowledged" in done.text and "0 notices to acknowledge" in done.text
    again = client.post(f"/notices/{link}", data={"csrf_token": csrf(client, "/notices")})
    assert again.status_code == 409 and "already been acknowledged" in again.text


def test_the_notices_inbox_is_for_partner_users(client: TestClient, world: TestWorld) -> None:
    _notice_for_agency(world)
    sign_in(client, "officer")
    assert client.get("/notices").status_code == 403


def test_caseworker_correction_shows_who_will_be_told_and_tells_them(
    client: TestClient, world: TestWorld
) -> None:
    world.agreement(
        purposes=["right_to_work"],
        data_items=["name", "photo_ref", "may_work", "work_conditions", "valid_until"],
    )
    person, record, code = _checked_worker(world, "Rio", "Correctcase", date(1990, 6, 7))
    CheckService(world.session).share_code_check(
        world.principals["agency_user"], code, date(1990, 6, 7), "right_to_work"
    )
    url = f"/casework/people/{person.id}/status/{record.id}/correct"
    world.session.commit()  # the test is the boundary: services never commit
    sign_in(client, "caseworker")
    form = client.get(url)
    assert "Test Agency" in form.text.split('id="recipients"')[1].split("</ul>")[0]
    token = csrf(client, url)
    unchanged = client.post(
        url,
        data={
            "csrf_token": token,
            "kind": "limited_leave",
            "may_rent": "yes",
            "reason": "x",
            "evidence_ref": "E",
        },
    )
    assert "Change at least one answer" in unchanged.text
    done = client.post(
        url,
        data={
            "csrf_token": token,
            "kind": "limited_leave",
            "may_work": "yes",
            "may_rent": "yes",
            "reason": "Work permission was recorded wrongly",
            "evidence_ref": "CASE-9",
        },
    )
    assert (
        "Correction applied" in done.text
        and "1 organisation sent the wrong data has been told" in done.text
    )
    assert "Superseded" in done.text

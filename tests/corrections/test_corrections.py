"""Corrections reach every recipient of the wrong data, once each; bad input changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shareguard.audit.models import AuditEntry
from shareguard.corrections import CorrectionService, NoticeService, WebhookService, webhooks
from shareguard.corrections.models import (
    Correction,
    PersonNotice,
    RectificationNotice,
    WebhookDelivery,
)
from shareguard.errors import Conflict, Forbidden, InvalidInput
from shareguard.status import StatusService
from shareguard.storage.base import utcnow
from tests.corrections.scenario import build
from tests.factories import bearer


def count(session: Any, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def correct_status(world: Any, story: Any, **kw: Any) -> Correction:
    args: dict[str, Any] = {
        "target_kind": "status_record",
        "target_id": story.status.id,
        "reason": "Leave to remain was granted in 1973; the no-leave record was keyed in error",
        "evidence_ref": "LANDING-CARD-1973",
        "changes": {"kind": "settled", "may_work": True, "may_rent": True},
        "expected_action": "Reinstate the licence or account and tell the person",
    }
    args.update(kw)
    svc = CorrectionService(world.session)
    c = svc.correct(world.principals["caseworker"], **args)
    if c.state == "pending_approval":  # the council stopped a benefit on the wrong record
        c = svc.approve(c.id, world.principals["caseworker2"])
    world.session.commit()  # as the request would (services never commit)
    return c


def test_three_recipients_get_exactly_three_notices_each_acknowledged_once(client, world) -> None:  # type: ignore[no-untyped-def]
    story = build(world)
    s = world.session
    c = correct_status(world, story)
    assert c.state == "applied" and c.new_record_id is not None
    # history is kept: the wrong record stays, superseded by the correction
    history = StatusService(s).status_history(story.person.id)
    assert [r.id for r in history] == [story.status.id, c.new_record_id]
    assert StatusService(s).current_status(story.person.id).kind == "settled"

    notices = NoticeService(s).notices_of(c.id)
    assert sorted(n.organisation_id for n in notices) == sorted(
        [world.orgs["agency"], world.orgs["bank"], world.orgs["council"]]
    )
    by_org = {n.organisation_id: n for n in notices}
    assert by_org[world.orgs["council"]].disclosure_kinds == ["match_result"]
    assert by_org[world.orgs["agency"]].disclosure_kinds == ["check_answer"]
    for n in notices:
        assert "Testperson" not in n.what_changed and "1950" not in n.what_changed
        assert n.expected_action.startswith("Reinstate")
        assert n.deadline > utcnow() + timedelta(days=13)

    # the person is told, and can ask who was told
    [told] = s.scalars(select(PersonNotice).where(PersonNotice.person_id == story.person.id))
    assert told.recipients_notified == 3
    recipients = NoticeService(s).recipients_told(story.person.id, world.principals["caseworker"])
    assert sorted(r["organisation"] for r in recipients) == [
        "Test Agency",
        "Test Bank",
        "Test Council",
    ]
    s.rollback()

    # each recipient pulls only its own notice and acknowledges it once
    for org in ("agency", "bank", "council"):
        r = client.get("/api/v1/notices", headers=bearer(world.keys[org]))
        assert r.status_code == 200, r.text
        [mine] = r.json()
        assert mine["organisation_id"] == str(world.orgs[org])
        ack = client.post(
            f"/api/v1/notices/{mine['id']}/acknowledge",
            json={"note": "licence reinstated"},
            headers=bearer(world.keys[org]),
        )
        assert ack.status_code == 200, ack.text
        assert ack.json()["acknowledged_at"] is not None
        again = client.post(
            f"/api/v1/notices/{mine['id']}/acknowledge", headers=bearer(world.keys[org])
        )
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
    acks = s.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "correction.acknowledge")
    )
    assert acks == 3


def test_acknowledging_another_organisations_notice_is_refused_and_changes_nothing(
    client, world
) -> None:  # type: ignore[no-untyped-def]
    story = build(world)
    c = correct_status(world, story)
    notice_id = next(
        n.id
        for n in NoticeService(world.session).notices_of(c.id)
        if n.organisation_id == world.orgs["agency"]
    )
    world.session.rollback()  # end the test's transaction: SQLite has one writer
    r = client.post(f"/api/v1/notices/{notice_id}/acknowledge", headers=bearer(world.keys["bank"]))
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert "not found" in r.json()["detail"]
    r = client.get(f"/api/v1/notices/{notice_id}", headers=bearer(world.keys["bank"]))
    assert r.status_code == 404
    assert world.session.get(RectificationNotice, notice_id).acknowledged_at is None
    world.session.rollback()
    r = client.get(f"/api/v1/notices/{notice_id}", headers=bearer(world.keys["agency"]))
    assert r.status_code == 200 and r.json()["acknowledged_at"] is None


def test_a_correction_without_a_reason_is_refused_whole(client, world) -> None:  # type: ignore[no-untyped-def]
    story = build(world)
    s = world.session
    before = (count(s, AuditEntry), count(s, Correction), count(s, RectificationNotice))
    with pytest.raises(InvalidInput, match="reason") as exc:
        correct_status(world, story, reason="   ")
    assert exc.value.field == "reason"
    with pytest.raises(InvalidInput, match="cannot change"):
        correct_status(world, story, changes={"person_id": "x"})
    with pytest.raises(InvalidInput, match=r"changes\.kind"):
        correct_status(world, story, changes={"kind": "royalty"})
    status_id, person_id = story.status.id, story.person.id
    s.rollback()
    r = client.post(
        "/api/v1/corrections",
        json={
            "target_kind": "status_record",
            "target_id": str(status_id),
            "reason": "",
            "evidence_ref": "E",
            "changes": {"kind": "settled"},
        },
        headers=bearer(world.keys["caseworker"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "reason"
    assert (count(s, AuditEntry), count(s, Correction), count(s, RectificationNotice)) == before
    assert [x.id for x in StatusService(s).status_history(person_id)] == [status_id]


def test_lifting_an_adverse_action_needs_a_second_caseworker(world) -> None:  # type: ignore[no-untyped-def]
    story = build(world)
    svc = CorrectionService(world.session)
    c = svc.correct(
        world.principals["caseworker"],
        target_kind="decision",
        target_id=story.decision.id,
        reason="The refusal was made in error: the person has had leave since 1973",
        evidence_ref="LANDING-CARD-1973",
        changes={"overturned": True},
        expected_action="Restart the benefit and repay what was stopped",
    )
    assert c.lifts_adverse_action and c.state == "pending_approval"
    assert NoticeService(world.session).notices_of(c.id) == []
    with pytest.raises(Conflict, match="awaiting approval"):
        svc.correct(
            world.principals["caseworker2"],
            target_kind="decision",
            target_id=story.decision.id,
            reason="same again",
            evidence_ref="X",
            changes={"overturned": True},
        )
    with pytest.raises(Forbidden, match="second caseworker"):
        svc.approve(c.id, world.principals["caseworker"])
    svc.approve(c.id, world.principals["caseworker2"])
    assert c.state == "applied"
    # the decision reached all three: both checks carried it, and the match result
    assert len(NoticeService(world.session).notices_of(c.id)) == 3
    with pytest.raises(Conflict):
        svc.approve(c.id, world.principals["caseworker2"])


def test_an_unacknowledged_notice_escalates_after_its_deadline(client, world) -> None:  # type: ignore[no-untyped-def]
    story = build(world)
    svc = NoticeService(world.session)
    c = correct_status(world, story, deadline_days=3)
    notices = svc.notices_of(c.id)
    svc.acknowledge(notices[0].id, _principal_of(world, notices[0].organisation_id))
    assert svc.escalate_overdue(now=utcnow() + timedelta(days=2)) == []
    escalated = svc.escalate_overdue(now=utcnow() + timedelta(days=4))
    assert sorted(n.id for n in escalated) == sorted(n.id for n in notices[1:])
    assert svc.escalate_overdue(now=utcnow() + timedelta(days=5)) == []  # once only
    expected = sorted(str(n.id) for n in notices[1:])
    world.session.commit()  # the test is the boundary: services never commit
    r = client.get("/api/v1/notices/escalated", headers=bearer(world.keys["officer"]))
    assert r.status_code == 200
    assert sorted(n["id"] for n in r.json()) == expected
    assert (
        client.get("/api/v1/notices/escalated", headers=bearer(world.keys["agency"])).status_code
        == 403
    )


def _principal_of(world: Any, org_id: Any) -> Any:
    return next(
        p
        for k, p in world.principals.items()
        if p.organisation_id == org_id and k in ("agency", "bank", "council")
    )


def public_dns(*addresses: str) -> Any:
    """A resolver answering every name with ``addresses`` (default: one public address)."""

    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(2, 1, 6, "", (a, port)) for a in addresses or ("93.184.216.34",)]

    return resolve


class Receiver:
    """A recipient's webhook endpoint: fails the first delivery, then verifies and accepts."""

    def __init__(self) -> None:
        self.secret = ""
        self.received: list[tuple[bool, dict[str, Any]]] = []
        self.requests: list[httpx.Request] = []
        self.fail_first = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_first:
            self.fail_first = False
            return httpx.Response(503)
        ok = webhooks.verify(
            self.secret,
            request.headers[webhooks.SIGNATURE_HEADER],
            request.content,
            now=int(utcnow().timestamp()),
            tolerance=10**9,
        )
        self.received.append((ok, json.loads(request.content)))
        return httpx.Response(204 if ok else 401)


def test_webhook_delivery_retries_with_backoff_and_its_signature_verifies(world) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver()
    http = httpx.Client(transport=httpx.MockTransport(receiver))
    svc = WebhookService(world.session)
    story = build(world)
    receiver.secret = (
        svc.set_webhook(
            world.orgs["bank"], "https://bank.example/notices", world.principals["officer"]
        )
        or ""
    )
    c = correct_status(world, story)
    [delivery] = world.session.scalars(select(WebhookDelivery))
    now = utcnow()
    deliver = partial(svc.deliver_webhooks, client=http, resolver=public_dns())
    assert deliver(now=now) == {"delivered": 0, "retrying": 1, "failed": 0}
    assert delivery.attempts == 1 and delivery.last_status_code == 503
    assert delivery.next_attempt_at == now + webhooks.backoff(1)
    # not due yet: nothing is sent
    assert deliver(now=now + timedelta(seconds=10))["retrying"] == 0
    assert deliver(now=now + timedelta(seconds=31)) == {"delivered": 1, "retrying": 0, "failed": 0}
    assert delivery.state == "delivered"
    [(verified, payload)] = receiver.received
    bank_notice = next(
        n
        for n in NoticeService(world.session).notices_of(c.id)
        if n.organisation_id == world.orgs["bank"]
    )
    assert verified and payload["id"] == str(bank_notice.id)
    # Sent to the address that was checked, naming the host in Host (and SNI).
    sent = receiver.requests[-1]
    assert sent.url.host == "93.184.216.34" and sent.headers["host"] == "bank.example"
    assert sent.extensions["sni_hostname"] == "bank.example"


def test_webhook_gives_up_after_the_last_attempt(world) -> None:  # type: ignore[no-untyped-def]
    svc = WebhookService(world.session)
    story = build(world)
    svc.set_webhook(
        world.orgs["agency"], "https://agency.example/hook", world.principals["officer"]
    )
    correct_status(world, story)
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    now = utcnow()
    for _ in range(webhooks.MAX_ATTEMPTS):
        svc.deliver_webhooks(client=client, now=now, resolver=public_dns())
        now += webhooks.MAX_DELAY
    [delivery] = world.session.scalars(select(WebhookDelivery))
    assert delivery.state == "failed" and delivery.attempts == webhooks.MAX_ATTEMPTS
    assert len(calls) == webhooks.MAX_ATTEMPTS
    assert webhooks.SIGNATURE_HEADER in calls[0].headers


def test_person_and_webhook_endpoints(client, world) -> None:  # type: ignore[no-untyped-def]
    story = build(world)
    correct_status(world, story)
    person_id = story.person.id
    world.session.rollback()
    url = f"/api/v1/persons/{person_id}/corrections"
    r = client.get(f"{url}/recipients", headers=bearer(world.keys["caseworker"]))
    assert r.status_code == 200
    assert sorted(x["organisation"] for x in r.json()) == [
        "Test Agency",
        "Test Bank",
        "Test Council",
    ]
    [told] = client.get(f"{url}/notices", headers=bearer(world.keys["caseworker"])).json()
    assert told["recipients_notified"] == 3
    assert client.get(f"{url}/recipients", headers=bearer(world.keys["bank"])).status_code == 403

    bank = world.orgs["bank"]
    r = client.put(
        f"/api/v1/organisations/{bank}/webhook",
        json={"url": "https://bank.example/notices"},
        headers=bearer(world.keys["bank"]),
    )
    assert r.status_code == 200 and len(r.json()["secret"]) > 30
    r = client.put(
        f"/api/v1/organisations/{world.orgs['agency']}/webhook",
        json={"url": "https://evil.example/"},
        headers=bearer(world.keys["bank"]),
    )
    assert r.status_code == 403
    r = client.put(
        f"/api/v1/organisations/{bank}/webhook",
        json={"url": "http://bank.example/plain"},
        headers=bearer(world.keys["bank"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "url"

"""Requests to partners: decided before the partner sees them, answers minimised and audited."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.agreements.service import AgreementService
from shareguard.audit.models import AuditEntry
from shareguard.audit.service import AuditService
from shareguard.errors import Conflict, InvalidInput, NotFound, Refused, keeps_audit
from shareguard.exchange import RequestService
from shareguard.exchange.models import ExchangeRequest, RequestDelivery
from shareguard.policy.models import Disclosure
from shareguard.storage.base import utcnow
from tests.corrections.test_corrections import public_dns
from tests.factories import ExchangeWorld, inbound_agreement, integrated


def ask(xw: ExchangeWorld, agreement=None, **kw):  # type: ignore[no-untyped-def]
    fields = {
        "agreement": agreement or xw.agreement,
        "person_id": xw.person,
        "reason": "Tracing for an open case",
        "data_items": ["address", "postcode"],
    }
    fields.update(kw)
    return RequestService(xw.session).create(xw.w.principals["caseworker"], **fields)


def count(session: Session, model) -> int:  # type: ignore[no-untyped-def]
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_permitted_request_reaches_the_partner_queue(xw: ExchangeWorld) -> None:
    row = ask(xw, proportionality="Only the address is needed")
    assert row.state == "open" and row.deadline is not None
    partner = xw.w.principals["agency"]
    queue = RequestService(xw.session).find(partner)
    assert [r.id for r in queue] == [row.id]
    shown = RequestService(xw.session).identifiers(row)
    assert shown == {"name": "Testa Exemplar", "date_of_birth": "1985-05-05"}
    # Another partner does not see it.
    assert RequestService(xw.session).find(xw.w.principals["bank"]) == []
    with pytest.raises(NotFound):
        RequestService(xw.session).get(row.id, xw.w.principals["bank"])
    d = xw.session.get(Disclosure, row.request_disclosure_id)
    assert d is not None and d.kind == "request" and d.data_items == ["address", "postcode"]
    assert (d.discloser_org_id, d.recipient_org_id) == (xw.w.orgs["agency"], xw.w.orgs["dept"])


def test_reason_is_required_and_bad_input_writes_nothing(xw: ExchangeWorld) -> None:
    outbound = xw.w.agreement()  # the operator discloses to the agency under this one
    before = (count(xw.session, ExchangeRequest), count(xw.session, AuditEntry))
    for kw, field in [
        ({"reason": "  "}, "reason"),
        ({"agreement": "NO-SUCH-REF"}, "agreement"),
        ({"data_items": ["address", "shoe_size"]}, "data_items[1]"),
        ({"purpose": "astrology"}, "purpose"),
    ]:
        with pytest.raises(InvalidInput) as err:
            ask(xw, **kw)
        assert err.value.field == field
    # Wrong direction: an outbound agreement.
    with pytest.raises(InvalidInput) as err:
        ask(xw, agreement=outbound)
    assert err.value.field == "agreement" and "runs the other way" in err.value.detail
    assert (count(xw.session, ExchangeRequest), count(xw.session, AuditEntry)) == before


@pytest.mark.parametrize("action", ["pause", "end"])
def test_paused_or_ended_agreement_is_refused_before_the_partner_sees_it(
    xw: ExchangeWorld, action: str
) -> None:
    AgreementService(xw.session).transition(
        xw.agreement, action, xw.w.principals["officer"], "review"
    )
    with pytest.raises(Refused) as err:
        ask(xw)
    assert keeps_audit(err.value) and err.value.extra["kind"] == "agreement_state"
    assert "paused" in err.value.detail or "ended" in err.value.detail
    row = xw.session.scalar(select(ExchangeRequest))
    assert row is not None and row.state == "refused" and row.deadline is None
    assert RequestService(xw.session).find(xw.w.principals["agency"]) == []
    entry = xw.session.get(AuditEntry, row.request_entry_id)
    assert entry is not None and entry.action == "policy.deny"
    assert entry.details["discloser"] == str(xw.w.orgs["agency"])
    assert count(xw.session, RequestDelivery) == 0


def test_request_to_an_nhs_body_for_enforcement_is_refused_by_the_firewall(
    xw: ExchangeWorld,
) -> None:
    with pytest.raises(Refused) as err:
        ask(xw, agreement=xw.nhs_agreement)
    assert err.value.extra["kind"] == "firewall"
    assert "Health-care records" in err.value.detail
    row = xw.session.scalar(select(ExchangeRequest))
    assert row is not None and row.decision_kind == "firewall"
    assert count(xw.session, Disclosure) == 0


def test_daily_limit_applies_to_requests(xw: ExchangeWorld) -> None:
    limited = inbound_agreement(xw.w, "Test Agency", limit_per_day=2)
    ask(xw, agreement=limited)
    ask(xw, agreement=limited)
    with pytest.raises(Refused) as err:
        ask(xw, agreement=limited)
    assert err.value.extra["kind"] == "limit"
    assert "2 records a day" in err.value.detail


def test_answer_is_minimised_and_dropped_fields_named(xw: ExchangeWorld) -> None:
    row = ask(xw)
    partner = xw.w.principals["agency"]
    answered = RequestService(xw.session).answer(
        row.id,
        partner,
        outcome="data",
        data={
            "address": "1 Test Street",
            "postcode": "TE1 1ST",
            "nationality": "Testland",
            "shoe_size": "9",
        },
    )
    assert answered.state == "answered"
    assert answered.answer == {"address": "1 Test Street", "postcode": "TE1 1ST"}
    assert answered.dropped == ["nationality", "shoe_size"]
    entry = xw.session.get(AuditEntry, answered.answer_entry_id)
    assert entry is not None and entry.action == "disclosure.answer"
    assert entry.details["dropped"] == ["nationality", "shoe_size"]
    assert entry.details["discloser"] == str(xw.w.orgs["agency"])
    assert entry.details["recipient"] == str(xw.w.orgs["dept"])
    assert "Test Street" not in str(entry.details)
    with pytest.raises(Conflict):
        RequestService(xw.session).answer(row.id, partner, outcome="not_held")


def test_answer_carrying_a_firewalled_item_is_refused(xw: ExchangeWorld) -> None:
    row = ask(xw)
    with pytest.raises(Refused) as err:
        RequestService(xw.session).answer(
            row.id,
            xw.w.principals["agency"],
            outcome="data",
            data={"address": "1 Test Street", "health_record": "seen at clinic"},
        )
    assert err.value.extra["kind"] == "firewall" and keeps_audit(err.value)
    assert row.state == "answer_refused" and row.answer is None


def test_not_held_and_declined_answers(xw: ExchangeWorld) -> None:
    partner = xw.w.principals["agency"]
    svc = RequestService(xw.session)
    a = svc.answer(ask(xw).id, partner, outcome="not_held")
    assert a.state == "not_held"
    with pytest.raises(InvalidInput) as err:
        svc.answer(ask(xw).id, partner, outcome="refused")
    assert err.value.field == "note"
    b = svc.answer(ask(xw).id, partner, outcome="refused", note="Not proportionate")
    assert b.state == "declined" and b.answer_note == "Not proportionate"
    with pytest.raises(NotFound):
        svc.answer(ask(xw).id, xw.w.principals["bank"], outcome="not_held")


def test_the_person_sees_the_request_and_the_answer(xw: ExchangeWorld) -> None:
    row = ask(xw)
    RequestService(xw.session).answer(
        row.id, xw.w.principals["agency"], outcome="data", data={"address": "1 Test Street"}
    )
    from shareguard.accounts.principal import Principal

    me = Principal(organisation_id=None, person_id=xw.person)
    items = AuditService(xw.session).access_log(xw.person, me)
    actions = [i.action for i in items]
    assert "disclosure.request" in actions and "disclosure.answer" in actions
    answer = next(i for i in items if i.action == "disclosure.answer")
    assert (answer.discloser, answer.recipient) == ("Test Agency", "Test Department")
    assert answer.agreement_reference == "T-AG-HO-001"


def test_an_exemption_withholds_the_request_from_the_person(xw: ExchangeWorld) -> None:
    row = ask(xw)
    [seq] = integrated(xw.session, [row.request_entry_id])
    AuditService(xw.session).apply_exemption(
        seq,
        "DPA 2018 Sch 2 para 4 (immigration)",
        "Telling the person would prejudice an open enforcement case",
        xw.w.principals["caseworker"],
        xw.w.principals["officer"],
    )
    from shareguard.accounts.principal import Principal

    me = Principal(organisation_id=None, person_id=xw.person)
    items = AuditService(xw.session).access_log(xw.person, me)
    hidden = [i for i in items if i.seq == seq]
    assert hidden and hidden[0].withheld == "withheld under DPA 2018 Sch 2 para 4 (immigration)"
    assert hidden[0].discloser is None and hidden[0].action is None


def test_reminders_escalation_and_signed_webhooks(xw: ExchangeWorld) -> None:
    from shareguard.accounts.models import Organisation
    from shareguard.corrections import webhooks

    org = xw.session.get(Organisation, xw.w.orgs["agency"])
    assert org is not None
    org.webhook_url, org.webhook_secret = "https://partner.test/hook", "s3cret"
    now = utcnow()
    row = ask(xw, deadline_days=3, now=now)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    svc = RequestService(xw.session)
    # partner.test resolves (in this test) to a public address: delivery checks it first.
    deliver = partial(svc.deliver_webhooks, client=client, resolver=public_dns())
    assert deliver(now=now) == {
        "delivered": 1,
        "retrying": 0,
        "failed": 0,
    }
    body = seen[0].content
    assert webhooks.verify(
        "s3cret", seen[0].headers[webhooks.SIGNATURE_HEADER], body, now=int(now.timestamp())
    )
    assert b"Testa" not in body and row.reference.encode() in body
    # Two days before the deadline the partner is reminded, once.
    later = now + timedelta(days=1, hours=1)
    assert [r.id for r in svc.remind_due(now=later)] == [row.id]
    assert svc.remind_due(now=later) == []
    assert deliver(now=later)["delivered"] == 1
    assert b'"reminder"' in seen[1].content
    # Past the deadline it is escalated to the governance officer, once.
    overdue = now + timedelta(days=4)
    assert [r.id for r in svc.escalate_overdue(now=overdue)] == [row.id]
    assert svc.escalate_overdue(now=overdue) == []
    assert [r.id for r in svc.escalations(xw.w.principals["officer"])] == [row.id]


def test_request_webhooks_are_never_sent_to_internal_addresses(xw: ExchangeWorld) -> None:
    from shareguard.accounts.models import Organisation

    org = xw.session.get(Organisation, xw.w.orgs["agency"])
    assert org is not None
    org.webhook_url, org.webhook_secret = "https://partner.test/hook", "s3cret"
    ask(xw, deadline_days=3)
    seen: list[httpx.Request] = []
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204))
    )
    counts = RequestService(xw.session).deliver_webhooks(
        client=client, resolver=public_dns("10.0.0.5")
    )
    assert counts == {"delivered": 0, "retrying": 1, "failed": 0} and seen == []
    [delivery] = xw.session.scalars(select(RequestDelivery)).all()
    assert delivery.last_error.startswith("refused:")

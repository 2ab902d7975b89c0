"""Console pages of the door's other way: ask with a check-answers page, the partner's inbox,
files partners send, the caseworkers' queue and refused requests."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from shareguard.exchange.models import ExchangeRequest, InboundRecord
from tests.factories import ExchangeWorld
from tests.web.console_helpers import csrf, error_messages, sign_in


def _sign_in(app: Any, who: str) -> TestClient:
    c = TestClient(app)
    sign_in(c, who)
    return c


def test_caseworker_asks_partner_answers_caseworker_sees_minimised_answer(
    app: Any, xw: ExchangeWorld
) -> None:
    xw.session.commit()
    cw = _sign_in(app, "caseworker")
    page = cw.get(f"/casework/requests/new?person={xw.person}")
    assert page.status_code == 200 and "T-AG-HO-001" in page.text
    assert "built-in method" not in page.text and "govuk-error-message" not in page.text
    # Missing reason and information: errors, nothing sent.
    token = csrf(cw, "/casework/requests/new")
    bad = cw.post(
        "/casework/requests/new",
        data={"csrf_token": token, "person": str(xw.person), "agreement": "T-AG-HO-001"},
    )
    assert bad.status_code == 422
    assert error_messages(bad.text) == [
        "Choose the information you need",
        "Say why you need this information",
    ]
    check = cw.post(
        "/casework/requests/new",
        data={
            "csrf_token": token,
            "person": str(xw.person),
            "agreement": "T-AG-HO-001",
            "items": ["address", "postcode"],
            "reason": "Tracing for an open case",
        },
    )
    assert check.status_code == 200 and "Check your request before it is sent" in check.text
    assert "Testa Exemplar" in check.text
    sent = cw.post("/casework/requests/check", data={"csrf_token": token}, follow_redirects=False)
    assert sent.status_code == 303
    xw.session.rollback()
    row = xw.session.scalar(select(ExchangeRequest))
    assert row is not None and row.state == "open"
    rid, reference = row.id, row.reference
    xw.session.rollback()  # end the read: the server's sessions write next

    partner = _sign_in(app, "agency_user")
    assert "1 request for information" in partner.get("/console").text
    inbox = partner.get("/requests")
    assert reference in inbox.text and "1 request to answer" in inbox.text
    assert "Address, Postcode" in inbox.text and "built-in method" not in inbox.text
    item = partner.get(f"/requests/{rid}")
    assert "Testa Exemplar" in item.text and "Tracing for an open case" in item.text
    answered = partner.post(
        f"/requests/{rid}",
        data={
            "csrf_token": csrf(partner, f"/requests/{rid}"),
            "outcome": "data",
            "item-address": "1 Test Street",
            "item-postcode": "TE1 1ST",
        },
        follow_redirects=False,
    )
    assert answered.status_code == 303, answered.text[:2000]
    seen = cw.get(f"/casework/requests/{rid}")
    assert "1 Test Street" in seen.text and "Answered" in seen.text


def test_request_refused_by_the_firewall_shows_the_reason(app: Any, xw: ExchangeWorld) -> None:
    xw.session.commit()
    cw = _sign_in(app, "caseworker")
    token = csrf(cw, "/casework/requests/new")
    cw.post(
        "/casework/requests/new",
        data={
            "csrf_token": token,
            "person": str(xw.person),
            "agreement": "T-NHS-HO-002",
            "items": ["address"],
            "reason": "Tracing",
        },
    )
    refused = cw.post("/casework/requests/check", data={"csrf_token": token})
    assert refused.status_code == 403
    assert "Health-care records are never used for immigration enforcement" in refused.text
    assert "The partner has not seen this request" in refused.text
    officer = _sign_in(app, "officer")
    listed = officer.get("/governance/requests")
    assert "Health-care records" in listed.text and "Firewall rule" in listed.text
    partner_view = _sign_in(app, "agency_user").get("/requests")
    assert "You have no requests" in partner_view.text


def test_partner_uploads_a_file_and_sees_its_errors(app: Any, xw: ExchangeWorld) -> None:
    xw.session.commit()
    partner = _sign_in(app, "agency_user")
    token = csrf(partner, "/inbound/new")
    body = (
        "record_id,name,date_of_birth,address\n"
        "A1,Testa Exemplar,1985-05-05,1 Test Street\n"
        "A2,Bad Row,1985-13-01,2 Test Street\n"
    )
    rejected = partner.post(
        "/inbound/new",
        data={"csrf_token": token, "agreement": "T-AG-HO-001", "mode": "reject"},
        files={"file": ("partner.csv", body.encode(), "text/csv")},
    )
    assert rejected.status_code == 422
    assert re.search(r"<td[^>]*>3</td><td[^>]*>date_of_birth</td>", rejected.text)
    xw.session.rollback()
    assert xw.session.scalar(select(InboundRecord)) is None
    xw.session.rollback()
    kept = partner.post(
        "/inbound/new",
        data={"csrf_token": token, "agreement": "T-AG-HO-001", "mode": "quarantine"},
        files={"file": ("partner.csv", body.encode(), "text/csv")},
    )
    assert kept.status_code == 200 and "Submission IN-" in kept.text
    assert 'id="accepted">1<' in kept.text and 'id="quarantined">1<' in kept.text

    cw = _sign_in(app, "caseworker")
    queue = cw.get("/casework/inbound")
    assert "Test Agency" in queue.text and "1 record: unverified" in queue.text
    xw.session.rollback()
    record = xw.session.scalar(select(InboundRecord))
    assert record is not None
    record_id = record.id
    xw.session.rollback()
    page = cw.get(f"/casework/inbound/{record_id}")
    assert "1 Test Street" in page.text
    done = cw.post(
        f"/casework/inbound/{record_id}",
        data={"csrf_token": csrf(cw, f"/casework/inbound/{record_id}"), "action": "propose"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    # The same caseworker cannot verify their own proposal.
    again = cw.get(f"/casework/inbound/{record_id}")
    assert "Verify (second caseworker)" not in again.text


def test_partner_sends_a_file_larger_than_a_form(app: Any, xw: ExchangeWorld) -> None:
    """A file of a few thousand rows (far over a console form's 64 KB) is taken, not refused
    whole with a 413."""
    xw.session.commit()
    partner = _sign_in(app, "agency_user")
    token = csrf(partner, "/inbound/new")
    assert "up to 256 MB" in partner.get("/inbound/new").text
    rows = "".join(f"A{i},Testa Exemplar,1985-05-05,{i} Test Street\n" for i in range(3000))
    body = ("record_id,name,date_of_birth,address\n" + rows).encode()
    assert len(body) > 128 * 1024
    sent = partner.post(
        "/inbound/new",
        data={"csrf_token": token, "agreement": "T-AG-HO-001", "mode": "reject"},
        files={"file": ("partner.csv", body, "text/csv")},
    )
    assert sent.status_code == 200 and "Submission IN-" in sent.text
    # The agreement's daily limit (1,000) still applies, counted per row, and says so.
    assert 'id="accepted">1,000<' in sent.text
    assert 'id="refused">2,000<br>Daily limit: 2,000<' in sent.text

"""A caseworker records an immigration decision from the person page."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from shareguard.status import StatusService
from tests import factories
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages, sign_in


def test_caseworker_records_a_decision(client: TestClient, world: TestWorld) -> None:
    s = world.session
    p = factories.person(world, "Amara", "Okonkwo", date(1990, 4, 12), commit=False)
    s.commit()
    sign_in(client, "caseworker")
    assert (
        f'href="/casework/people/{p.id}/decisions"' in client.get(f"/casework/people/{p.id}").text
    )
    url = f"/casework/people/{p.id}/decisions"
    token = csrf(client, url)
    bad = client.post(url, data={"csrf_token": token, "decided-day": "31", "decided-month": "2"})
    assert bad.status_code == 422
    assert error_messages(bad.text) == [
        "Select the decision",
        "Enter the date of the decision as a real date",
        "Enter the reference of the evidence for this decision",
    ]
    assert client.post(url, data={"csrf_token": "x"}).status_code == 403
    done = client.post(
        url,
        data={
            "csrf_token": token,
            "type": "refusal",
            "decided-day": "3",
            "decided-month": "2",
            "decided-year": "2025",
            "final": "yes",
            "evidence_ref": "LETTER-1",
        },
    )
    assert done.status_code == 200 and "Decision recorded" in done.text
    s.expire_all()
    [d] = StatusService(s).decisions(p.id)
    assert d.type == "refusal" and d.final and d.evidence_ref == "LETTER-1"
    assert d.decided_on == date(2025, 2, 3)

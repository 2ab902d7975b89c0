"""Governance pages server side: the audit log browser, checkpoint and proof downloads."""

from __future__ import annotations

import json
import uuid

from fastapi.testclient import TestClient

from shareguard.agreements.service import AgreementService
from tests import factories
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages, sign_in


def test_audit_log_lists_entries_and_serves_verifiable_proofs(
    client: TestClient, world: TestWorld
) -> None:
    ref = AgreementService(world.session).get(world.agreement()).reference
    sign_in(client, "officer")
    # An action through the console lands in the log.
    client.post(
        f"/agreements/{ref}/pause",
        data={"csrf_token": csrf(client, "/console"), "reason": "audit browser test"},
    )
    page = client.get("/governance/audit")
    assert page.status_code == 200
    assert "<code>agreement.pause</code>" in page.text
    note = client.get("/governance/audit/checkpoint.txt")
    assert note.status_code == 200 and "attachment" in note.headers["content-disposition"]
    size = int(note.text.splitlines()[1])
    assert size >= 1
    proof = client.get("/governance/audit/proofs/inclusion/0.json")
    assert proof.status_code == 200
    bundle = json.loads(proof.text)
    assert bundle  # the bundle's own verification is tested in tests/audit
    page = client.get("/governance/audit").text
    assert f'id="tree-size">{size}<' in page


def test_consistency_form_needs_a_number(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "auditor")
    response = client.get("/governance/audit/proofs/consistency.json?old=abc")
    assert response.status_code == 422 and "whole number" in response.text


def test_partner_and_caseworker_cannot_browse_the_audit_log(
    client: TestClient, world: TestWorld
) -> None:
    for who in ("agency_user", "caseworker"):
        sign_in(client, who)
        assert client.get("/governance/audit").status_code == 403
        assert client.get("/governance/audit/checkpoint.txt").status_code == 403
        client.post("/sign-out", data={"csrf_token": csrf(client, "/console")})


def test_officer_sees_firewall_rules_and_lifts_a_pause_with_a_reason(
    client: TestClient, world: TestWorld
) -> None:
    from shareguard.policy.service import FirewallService

    FirewallService(world.session).ensure_defaults()
    pause_id = factories.pause(world, title="No proactive sharing about people over 30").id
    sign_in(client, "officer")
    page = client.get("/governance/firewall")
    assert page.status_code == 200
    assert (
        "Firewall rules" in page.text and "No proactive sharing about people over 30" in page.text
    )
    assert "In force" in page.text
    token = csrf(client, "/governance/firewall")
    refused = client.post(f"/governance/pauses/{pause_id}/lift", data={"csrf_token": token})
    assert refused.status_code == 422
    assert error_messages(refused.text) == ["A reason is required to lift a pause"]
    lifted = client.post(
        f"/governance/pauses/{pause_id}/lift",
        data={"csrf_token": token, "reason": "Review complete"},
    )
    assert "Pause lifted" in lifted.text and "Lifted by officer: Review complete" in lifted.text


def test_auditor_reads_the_firewall_page_but_cannot_lift(
    client: TestClient, world: TestWorld
) -> None:
    sign_in(client, "auditor")
    assert client.get("/governance/firewall").status_code == 200
    response = client.post(
        f"/governance/pauses/{uuid.uuid4()}/lift",
        data={"csrf_token": csrf(client, "/console"), "reason": "x"},
    )
    assert response.status_code == 403

"""Governance pages server side: the audit log browser, checkpoint and proof downloads."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from shareguard.agreements.service import AgreementService
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, sign_in


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

"""A check's answer names its audit entry; the entry's inclusion proof follows within moments."""

from __future__ import annotations

import time
import uuid

from fastapi.testclient import TestClient

from shareguard.audit.models import AuditEntry
from shareguard.audit.proofs import verify_bundle
from shareguard.audit.signing import Verifier
from shareguard.checks.models import Check
from tests.checks.test_checks import code_for, person, rtw, share_check  # noqa: F401 (fixture)
from tests.factories import bearer


def test_a_checks_answer_names_its_audit_entry_whose_proof_the_integrator_makes_available(
    client: TestClient,
    world,
    rtw,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    p = person(world)
    _, code = code_for(world, p)
    body = share_check(client, world, code).json()
    assert body["outcome"] == "confirmed"
    entry_id = uuid.UUID(body["audit_entry_id"])
    # The entry committed with the answer and names the person (their "who checked my data").
    check = world.session.get(Check, uuid.UUID(body["check_reference"]))
    entry = world.session.get(AuditEntry, entry_id)
    assert check.audit_entry_id == entry_id and entry.subject_ref == str(p.id)
    world.session.rollback()  # end the read: SQLite transactions here take the write lock
    # The app's integrator gives it its place; until then the proof is "pending" (202).
    auditor = bearer(world.keys["auditor"])
    deadline = time.monotonic() + 30
    while True:
        r = client.get(f"/api/v1/audit/entries/{entry_id}/proof", headers=auditor)
        if r.status_code != 202 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status_code == 200, r.text
    verifier = Verifier.parse(client.get("/api/v1/audit/public-key").json()["vkey"])
    assert verify_bundle(r.json(), verifier).startswith("OK: entry #")
    assert r.json()["entry"]["details"]["disclosure_id"] == str(check.disclosure_id)

"""Audit routes: the public key and checkpoint in the open, proofs and entries for auditors."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry, AuditRecord, append_many
from shareguard.audit.proofs import verify_bundle
from shareguard.audit.service import AuditService
from shareguard.audit.signing import Verifier
from shareguard.config import Settings
from tests.factories import bearer


def log_size(session: Session) -> int:
    """Entries already in the log (building the world audits its key issues)."""
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _log(
    session: Session, settings: Settings, n: int = 6, subject: str | None = None
) -> AuditService:
    append_many(
        session,
        [
            AuditRecord(action="check.share_code", subject_ref=subject, details={"i": i})
            for i in range(n)
        ],
    )
    session.commit()
    svc = AuditService(session, settings)
    svc.checkpoint()
    session.commit()  # the test is the boundary: services never commit
    return svc


def test_public_key_and_latest_checkpoint_need_no_login(
    client: TestClient, session: Session, settings: Settings
) -> None:
    assert client.get("/api/v1/audit/checkpoint").status_code == 404
    key = client.get("/api/v1/audit/public-key").json()
    verifier = Verifier.parse(key["vkey"])
    assert key["key_id"] == verifier.key_id.hex() and key["algorithm"] == "Ed25519"
    _log(session, settings)
    cp = client.get("/api/v1/audit/checkpoint").json()
    assert cp["tree_size"] == 6
    note = client.get("/api/v1/audit/checkpoint.txt").text
    assert note == cp["note"] and verifier.verify(note).startswith(f"{key['key_name']}\n6\n")


def test_an_auditor_gets_proofs_an_outsider_can_check(
    client: TestClient, session: Session, settings: Settings, world
) -> None:
    base = log_size(session)
    _log(session, settings)
    _log(session, settings, 5)  # a second checkpoint at size base + 11
    verifier = Verifier.parse(client.get("/api/v1/audit/public-key").json()["vkey"])
    r = client.get("/api/v1/audit/proofs/inclusion/3", headers=bearer(world.keys["auditor"]))
    assert r.status_code == 200, r.text
    assert verify_bundle(r.json(), verifier).startswith("OK: entry #3")
    size = r.json()["tree_size"]
    assert size == base + 11
    r = client.get(
        f"/api/v1/audit/proofs/consistency?old={base + 6}&new={size}",
        headers=bearer(world.keys["auditor"]),
    )
    assert r.status_code == 200, r.text
    assert f"extends size {base + 6}" in verify_bundle(r.json(), verifier)
    assert (
        client.get(
            "/api/v1/audit/proofs/inclusion/999", headers=bearer(world.keys["auditor"])
        ).status_code
        == 404
    )


def test_partners_cannot_read_the_raw_log(
    client: TestClient, session: Session, settings: Settings, world
) -> None:
    base = log_size(session)
    _log(session, settings)
    for path in ("/api/v1/audit/entries", "/api/v1/audit/proofs/inclusion/0"):
        r = client.get(path, headers=bearer(world.keys["agency"]))
        assert r.status_code == 403 and r.headers["content-type"].startswith(
            "application/problem+json"
        )
    assert client.get("/api/v1/audit/entries").status_code == 401
    r = client.get("/api/v1/audit/entries?limit=2", headers=bearer(world.keys["auditor"]))
    assert [e["seq"] for e in r.json()] == [base + 5, base + 4]


def test_access_log_endpoint(
    client: TestClient, session: Session, settings: Settings, world
) -> None:
    person = uuid.uuid4()
    base = log_size(session)
    _log(session, settings, 3, subject=str(person))
    r = client.get(f"/api/v1/persons/{person}/access-log", headers=bearer(world.keys["caseworker"]))
    assert r.status_code == 200, r.text
    assert [i["seq"] for i in r.json()["items"]] == [base, base + 1, base + 2]
    r = client.get(f"/api/v1/persons/{person}/access-log", headers=bearer(world.keys["bank"]))
    assert r.status_code == 403


def test_checkpoints_are_made_on_a_schedule_while_serving(
    session: Session, settings: Settings, engine
) -> None:
    import time

    from shareguard.web.app import create_app

    append_many(session, [AuditRecord(action="x")])
    session.commit()
    app = create_app(settings.model_copy(update={"checkpoint_interval": 1}), engine)
    svc = AuditService(session, settings)
    with TestClient(app):
        deadline = time.monotonic() + 45  # generous: CI machines are shared
        while svc.latest_checkpoint() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            session.rollback()  # see the background task's commit
    cp = svc.latest_checkpoint()
    assert cp is not None and cp.tree_size == 1

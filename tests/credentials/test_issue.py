"""Issuing through the one door, revoking, and verifying online (audited)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from shareguard.audit import AuditEntry
from shareguard.config import Settings
from shareguard.credentials import format as fmt
from shareguard.credentials.service import CredentialService
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.storage.base import today
from tests.credentials.conftest import FAMILY, GIVEN, as_person, audit, make_person
from tests.factories import bearer, integrated


@pytest.fixture
def svc(world: Any, settings: Settings) -> CredentialService:
    return CredentialService(world.session, settings)


def subject_entries(session: Any, person: uuid.UUID) -> list[AuditEntry]:
    session.expire_all()
    integrated(session)  # log order: numbers come at integration
    from sqlalchemy import select

    stmt = select(AuditEntry).where(AuditEntry.subject_ref == str(person))
    return list(session.scalars(stmt.order_by(AuditEntry.seq)))


def test_person_issues_a_credential_that_verifies_offline_and_issuing_is_audited(
    world: Any, svc: CredentialService, person: uuid.UUID
) -> None:
    row = svc.issue(person, "right_to_work", as_person(person))
    result = fmt.verify(
        row.token, fmt.load_public_key(fmt.public_pem(svc.public_key())), at=datetime.now(UTC)
    )
    assert result.valid, result.reason
    assert result.credential_id == str(row.id)
    assert result.subject == {
        "purpose": "right_to_work",
        "question": "May this person work?",
        "name": f"{GIVEN} {FAMILY}",
        "photo_ref": result.subject["photo_ref"],
        "may_work": "yes",
        "work_conditions": "",
        "valid_until": (today() + timedelta(days=400)).isoformat(),
    }
    assert result.valid_until is not None and result.issued_at is not None
    assert result.valid_until - result.issued_at == timedelta(days=30)
    # Audited: the door's disclosure entry with the payload hash, and the credential's own entry.
    entries = subject_entries(world.session, person)
    [issued] = [e for e in entries if e.action == "credential.issue"]
    assert issued.details["credential_id"] == str(row.id)
    assert issued.details["by"] == "person"
    assert issued.details["disclosure_id"] == str(row.disclosure_id)
    door = [e for e in entries if e.action != "credential.issue" and e.decision == "permit"]
    assert door and door[0].payload_hash
    for e in entries:  # never personal data in the log
        assert FAMILY not in str(e.details) and FAMILY not in str(e.reasons)


def test_valid_until_never_passes_the_status_end(world: Any, svc: CredentialService) -> None:
    person = make_person(world, valid_to_days=10)
    row = svc.issue(person, "right_to_work", world.principals["caseworker"])
    end = datetime.combine(today() + timedelta(days=10), time(23, 59, 59), UTC)
    assert row.valid_until == end
    settled = make_person(world, valid_to_days=None)
    row = svc.issue(settled, "right_to_work", as_person(settled), days=7)
    assert row.valid_until - row.issued_at == timedelta(days=7)


def test_who_may_issue_and_what(world: Any, svc: CredentialService, person: uuid.UUID) -> None:
    for principal in (as_person(make_person(world)), world.principals["bank"]):
        with pytest.raises(Forbidden):
            svc.issue(person, "right_to_work", principal)
    with pytest.raises(InvalidInput):
        svc.issue(person, "immigration_enforcement", as_person(person))
    with pytest.raises(InvalidInput):
        svc.issue(person, "right_to_work", as_person(person), days=31)
    no_work = make_person(world, may_work=False)
    with pytest.raises(Conflict):
        svc.issue(no_work, "right_to_work", as_person(no_work))
    expired = make_person(world, valid_to_days=-1)
    with pytest.raises(Conflict, match="no current status"):
        svc.issue(expired, "right_to_work", as_person(expired))
    assert audit(world.session, "credential.issue") == []


def test_revoked_credential_fails_online_and_against_the_list(
    world: Any, svc: CredentialService, person: uuid.UUID
) -> None:
    row = svc.issue(person, "right_to_work", as_person(person))
    other = svc.issue(person, "right_to_rent", as_person(person))
    bank = world.principals["bank"]
    assert svc.verify_online(row.token, bank).valid
    svc.revoke(row.id, as_person(person), "lost")
    result = svc.verify_online(row.token, bank)
    assert not result.valid
    assert result.code == "revoked"
    assert result.reason.startswith(f"revoked on {today().isoformat()}")
    assert svc.verify_online(other.token, bank).valid
    # Each online verification is audited with the result; the revocation too.
    checks = audit(world.session, "credential.verify")
    assert [e.details["result"] for e in checks] == ["valid", "revoked", "valid"]
    assert all(e.actor_org_id == world.orgs["bank"] for e in checks)
    assert checks[1].subject_ref == str(person)
    [revoked] = audit(world.session, "credential.revoke")
    assert revoked.details == {"credential_id": str(row.id), "reason": "lost"}
    # The published list carries it, signed; offline checkers with the list see it too.
    key = svc.public_key()
    lst = fmt.read_revocation_list(svc.revocation_list().token, key)
    assert set(lst.revoked) == {str(row.id)}
    assert fmt.verify(row.token, key, at=datetime.now(UTC), revocations=lst).code == "revoked"


def test_online_verification_reports_tampering_expiry_and_wrong_key(
    world: Any, svc: CredentialService, person: uuid.UUID
) -> None:
    row = svc.issue(person, "right_to_work", as_person(person))
    bank = world.principals["bank"]
    h, p, s = row.token.split(".")
    tampered = f"{h}.{p[:40]}{'A' if p[40] != 'A' else 'B'}{p[41:]}.{s}"
    assert svc.verify_online(tampered, bank).reason.startswith("signature does not verify")
    later = datetime.now(UTC) + timedelta(days=31)
    assert svc.verify_online(row.token, bank, at=later).reason.startswith("expired on ")
    from joserfc.jwk import OKPKey

    foreign = fmt.sign(
        fmt.build_credential(
            credential_id=uuid.uuid4(),
            issuer="https://elsewhere.example",
            purpose="right_to_work",
            question="?",
            answer={},
            issued_at=datetime.now(UTC),
            valid_until=datetime.now(UTC) + timedelta(days=1),
            status_url="https://x.example",
        ),
        OKPKey.generate_key("Ed25519"),
    )
    assert svc.verify_online(foreign, bank).reason.startswith("signed by a different key")
    assert len(audit(world.session, "credential.verify")) == 3


def test_credential_api_issue_download_page_verify_revoke(
    client: Any, world: Any, person: uuid.UUID
) -> None:
    cw = bearer(world.keys["caseworker"])
    resp = client.post(
        f"/api/v1/persons/{person}/credentials", json={"purpose": "right_to_work"}, headers=cw
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    token, cid = body["credential"], body["id"]
    download = client.get(body["download_url"], headers=cw)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/vc+jwt")
    assert "attachment" in download.headers["content-disposition"]
    assert download.text.strip() == token
    page = client.get(body["page_url"], headers=cw)
    assert page.status_code == 200
    assert "<svg" in page.text and token in page.text
    assert f"{GIVEN} {FAMILY}" in page.text
    # A partner can neither fetch the credential nor learn it exists.
    assert client.get(body["download_url"], headers=bearer(world.keys["bank"])).status_code == 404
    # The checker verifies online (signed in), and later the person's caseworker revokes.
    bank = bearer(world.keys["bank"])
    ok = client.post("/api/v1/credentials/verify", json={"credential": token}, headers=bank)
    assert ok.status_code == 200 and ok.json()["valid"] is True
    assert ok.json()["revocation_checked"] is True
    revoke = client.post(f"/api/v1/credentials/{cid}/revoke", json={"reason": "lost"}, headers=cw)
    assert revoke.status_code == 200 and revoke.json()["revoked_at"]
    bad = client.post("/api/v1/credentials/verify", json={"credential": token}, headers=bank)
    assert bad.json()["valid"] is False and bad.json()["reason"].startswith("revoked on ")
    listed = client.get("/api/v1/credentials/revocations").json()
    assert listed["count"] == 1
    # Offline, with the published key and list, the same answer.
    key = fmt.load_public_key(client.get("/api/v1/credentials/public-key").text)
    lst = fmt.read_revocation_list(listed["revocation_list"], key)
    assert fmt.verify(token, key, at=datetime.now(UTC), revocations=lst).code == "revoked"
    junk = client.post("/api/v1/credentials/verify", json={"credential": "hello"}, headers=bank)
    assert junk.status_code == 422
    assert junk.headers["content-type"].startswith("application/problem+json")


def test_only_the_person_or_a_caseworker_sees_or_revokes(
    world: Any, svc: CredentialService, person: uuid.UUID
) -> None:
    row = svc.issue(person, "right_to_work", as_person(person))
    assert [c.id for c in svc.for_person(person, as_person(person))] == [row.id]
    stranger = as_person(make_person(world))
    with pytest.raises(NotFound):
        svc.get(row.id, stranger)
    with pytest.raises(NotFound):
        svc.revoke(row.id, world.principals["bank"])
    with pytest.raises(Forbidden):
        svc.for_person(person, stranger)
    assert svc.get(row.id, world.principals["caseworker"]).id == row.id


def test_caseworker_issues_by_cli_and_the_files_verify(
    world: Any, person: uuid.UUID, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from shareguard.cli import app
    from shareguard.config import get_settings
    from shareguard.storage import db

    monkeypatch.setattr(db, "get_engine", lambda: world.session.get_bind())
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out, page, key = tmp_path / "c.jwt", tmp_path / "c.html", tmp_path / "key.pem"
        issued = runner.invoke(
            app,
            [
                "credential",
                "issue",
                str(person),
                "--out",
                str(out),
                "--page",
                str(page),
                "--as",
                "caseworker@test.example",
            ],
        )
        assert issued.exit_code == 0, issued.output
        key.write_text(runner.invoke(app, ["credential", "public-key"]).output)
        for target in (out, page):
            ok = runner.invoke(app, ["credential", "verify", str(target), "--public-key", str(key)])
            assert ok.exit_code == 0, ok.output
        denied = runner.invoke(
            app, ["credential", "issue", str(person), "--as", "agency_user@test.example"]
        )
        assert denied.exit_code == 1
        assert "only the person, or a caseworker" in denied.output
        # Revoke it, publish the list, and an offline checker with that list sees the revocation.
        listed = runner.invoke(
            app, ["credential", "list", str(person), "--json", "--as", "caseworker@test.example"]
        )
        [cid] = [c["id"] for c in json.loads(listed.output)]
        cw = ["--as", "caseworker@test.example"]
        assert (
            runner.invoke(app, ["credential", "revoke", cid, "--reason", "lost", *cw]).exit_code
            == 0
        )
        lst = tmp_path / "revocations.jwt"
        assert runner.invoke(app, ["credential", "revocations", "--out", str(lst)]).exit_code == 0
        revoked = runner.invoke(
            app,
            [
                "credential",
                "verify",
                str(out),
                "--public-key",
                str(key),
                "--revocation-list",
                str(lst),
            ],
        )
        assert revoked.exit_code == 1
        assert "revoked on" in revoked.output
    finally:
        get_settings.cache_clear()
    [entry] = audit(world.session, "credential.issue")
    assert entry.details["by"] == "caseworker"
    assert entry.actor_user_id == world.users["caseworker"]


def sign_in_person(client: Any) -> None:
    """Sign in to the person-facing service (the one-time code comes from the outbox)."""
    from tests.credentials.conftest import DOB
    from tests.web.console_helpers import csrf

    details = {
        "csrf_token": csrf(client, "/my/sign-in"),
        "given": GIVEN,
        "family": FAMILY,
        "dob-day": str(DOB.day),
        "dob-month": str(DOB.month),
        "dob-year": str(DOB.year),
        "document": "TST123456",
    }
    assert client.post("/my/sign-in", data=details).status_code == 200
    code = client.app.state.code_sender.last()  # the configured sign-in route's outbox
    done = client.post(
        "/my/sign-in/code",
        data={"csrf_token": csrf(client, "/my/sign-in/code"), "code": code},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/my/account"


def test_the_signed_in_person_issues_locks_and_revokes_their_own(
    client: Any, world: Any, person: uuid.UUID
) -> None:
    from tests.web.console_helpers import csrf

    assert client.get(f"/api/v1/persons/{person}/credentials").status_code == 401
    sign_in_person(client)
    # A change made with the person's session cookie needs the console's CSRF token.
    forged = client.post(f"/api/v1/persons/{person}/credentials", json={"days": 5})
    assert forged.status_code == 403
    client.headers["X-CSRF-Token"] = csrf(client, "/my/credentials")
    issued = client.post(f"/api/v1/persons/{person}/credentials", json={"days": 5})
    assert issued.status_code == 201, issued.text
    assert issued.json()["purpose"] == "right_to_work"
    assert client.get(issued.json()["page_url"]).status_code == 200
    assert [c["id"] for c in client.get(f"/api/v1/persons/{person}/credentials").json()] == [
        issued.json()["id"]
    ]
    locked = client.put(f"/api/v1/persons/{person}/locks/attribute_checks")
    assert locked.json()["locks"] == ["attribute_checks"]
    revoked = client.post(f"/api/v1/credentials/{issued.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revocation_reason"] == "person_request"
    # Someone else's record stays closed to them.
    other = make_person(world)
    assert client.post(f"/api/v1/persons/{other}/credentials", json={}).status_code == 403
    assert client.put(f"/api/v1/persons/{other}/locks/attribute_checks").status_code == 403
    [entry] = audit(world.session, "credential.issue")
    assert entry.details["by"] == "person"
    # Online verification is for checkers with a key or a staff session, not the person.
    token = issued.json()["credential"]
    assert client.post("/api/v1/credentials/verify", json={"credential": token}).status_code == 401

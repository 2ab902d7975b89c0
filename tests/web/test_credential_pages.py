"""Credential and lock pages, server side: the person's credentials and locks, a partner's check."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shareguard.audit import AuditEntry
from shareguard.credentials.models import Credential
from shareguard.credentials.service import CredentialService
from tests.credentials.conftest import DOB, FAMILY, GIVEN, as_person, make_person
from tests.factories import integrated
from tests.web.console_helpers import csrf, error_messages, sign_in

DOCUMENT = "TST123456"


@pytest.fixture
def person(world: Any) -> uuid.UUID:
    return make_person(world)


@pytest.fixture
def partner(app: Any, world: Any) -> Iterator[TestClient]:
    """A second browser: the agency's partner user, signed in to the console."""
    with TestClient(app) as other:
        sign_in(other, "agency_user")
        yield other


def sign_in_person(client: TestClient) -> None:
    response = client.post(
        "/my/sign-in",
        data={
            "csrf_token": csrf(client, "/my/sign-in"),
            "given": GIVEN,
            "family": FAMILY,
            "dob-day": str(DOB.day),
            "dob-month": str(DOB.month),
            "dob-year": str(DOB.year),
            "document": DOCUMENT,
        },
    )
    assert response.status_code == 200, response.text[:300]
    code = client.app.state.code_sender.last()  # type: ignore[attr-defined]
    done = client.post(
        "/my/sign-in/code",
        data={"csrf_token": csrf(client, "/my/sign-in/code"), "code": code},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/my/account"


def get_credential(client: TestClient, purpose: str = "right_to_work") -> str:
    token = csrf(client, "/my/credentials")
    issued = client.post("/my/credentials", data={"csrf_token": token, "purpose": purpose})
    assert issued.status_code == 200, issued.text[:500]
    assert "Your credential is ready" in issued.text
    found = re.search(r'href="/my/credentials/([0-9a-f-]{36})\.jwt"', issued.text)
    assert found
    return found.group(1)


def count(session: Any, model: Any) -> int:
    session.expire_all()
    n = int(session.scalar(select(func.count()).select_from(model)))
    session.rollback()  # end the read: SQLite transactions here take the write lock
    return n


def revocation(session: Any, cid: uuid.UUID | str) -> tuple[Any, str]:
    """(revoked_at, reason) as stored now."""
    session.expire_all()
    row = session.get(Credential, uuid.UUID(str(cid)))
    out = (row.revoked_at, row.revocation_reason)
    session.rollback()
    return out


def audited(session: Any, like: str) -> list[AuditEntry]:
    session.expire_all()
    integrated(session)  # log order: numbers come at integration
    stmt = select(AuditEntry).where(AuditEntry.action.like(like)).order_by(AuditEntry.seq)
    rows = list(session.scalars(stmt))
    session.rollback()
    return rows


def test_pages_need_the_person_signed_in(client: TestClient, world: Any) -> None:
    for path in ("/my/credentials", "/my/locks"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/my/sign-in")


def test_account_page_links_to_credentials_and_locks(client: TestClient, person: Any) -> None:
    sign_in_person(client)
    account = client.get("/my/account").text
    assert 'href="/my/credentials"' in account and "Digital status credentials" in account
    assert 'href="/my/locks"' in account and "Lock checks by name and date of birth" in account


def test_person_gets_downloads_and_revokes_a_credential(
    client: TestClient, world: Any, person: uuid.UUID
) -> None:
    sign_in_person(client)
    listing = client.get("/my/credentials").text
    assert "You do not have any credentials yet" in listing
    assert "lasts 30 days" in listing
    assert "Online checks will then say it has been revoked" in listing

    cid = get_credential(client)
    page = client.get(f"/my/credentials/{cid}").text
    assert "Your credential is ready" not in page  # the panel shows once, straight after issuing
    assert "<svg" in page and "QR code holding your right to work credential" in page

    download = client.get(f"/my/credentials/{cid}.jwt")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/vc+jwt")
    assert download.headers["content-disposition"] == (
        f'attachment; filename="credential-{cid}.jwt"'
    )
    assert download.text.startswith("eyJ") and download.text.count(".") == 2

    printable = client.get(f"/my/credentials/{cid}/print")
    assert printable.status_code == 200 and "<svg" in printable.text
    assert download.text.strip() in printable.text

    listing = client.get("/my/credentials").text
    assert "Right to work" in listing and "Valid" in listing

    # Check-answers page, then a reason is required, then revoked.
    confirm = client.get(f"/my/credentials/{cid}/revoke").text
    assert "Are you sure you want to revoke this credential?" in confirm
    assert "You cannot undo this" in confirm
    token = csrf(client, f"/my/credentials/{cid}/revoke")
    missing = client.post(f"/my/credentials/{cid}/revoke", data={"csrf_token": token})
    assert missing.status_code == 422
    assert error_messages(missing.text) == ["Select why you want to revoke this credential"]
    assert revocation(world.session, cid) == (None, "")  # nothing written

    done = client.post(
        f"/my/credentials/{cid}/revoke", data={"csrf_token": token, "reason": "lost"}
    )
    assert done.status_code == 200 and "Credential revoked" in done.text
    revoked_at, reason = revocation(world.session, cid)
    assert revoked_at is not None and reason == "lost"
    assert "Revoked" in client.get("/my/credentials").text
    # A revoked credential has no revoke page any more.
    again = client.get(f"/my/credentials/{cid}/revoke", follow_redirects=False)
    assert again.headers["location"] == f"/my/credentials/{cid}"


def test_choosing_no_purpose_or_one_the_status_does_not_confirm_writes_nothing(
    client: TestClient, world: Any
) -> None:
    make_person(world, may_work=False)
    sign_in_person(client)
    token = csrf(client, "/my/credentials")
    missing = client.post("/my/credentials", data={"csrf_token": token})
    assert missing.status_code == 422
    assert error_messages(missing.text) == ["Select what you need to prove"]
    refused = client.post("/my/credentials", data={"csrf_token": token, "purpose": "right_to_work"})
    assert refused.status_code == 409
    [message] = error_messages(refused.text)
    assert message.startswith("We cannot give you a credential for right to work")
    assert count(world.session, Credential) == 0
    forged = client.post("/my/credentials", data={"purpose": "right_to_rent"})
    assert forged.status_code == 403 and count(world.session, Credential) == 0


def test_another_persons_credential_is_not_found(
    client: TestClient, world: Any, person: uuid.UUID
) -> None:
    # Another person: a record with the same details would be the signed-in person's own
    # duplicate, and signing in by details could land on either.
    other = make_person(world, document="TST654321")
    theirs = CredentialService(world.session).issue(other, "right_to_work", as_person(other))
    theirs_id, theirs_token = theirs.id, theirs.token
    world.session.commit()  # the test is the boundary: services never commit
    sign_in_person(client)
    for path in ("", ".jwt", "/print", "/revoke", "/revoked"):
        response = client.get(f"/my/credentials/{theirs_id}{path}")
        assert response.status_code == 404, path
        assert "Page not found" in response.text
        assert theirs_token not in response.text
    token = csrf(client, "/my/credentials")
    forged = client.post(
        f"/my/credentials/{theirs_id}/revoke", data={"csrf_token": token, "reason": "lost"}
    )
    assert forged.status_code == 404
    assert revocation(world.session, theirs_id)[0] is None


def bank_check(partner: TestClient) -> Any:
    """The agency's convenience check by name and date of birth, run from the console."""
    return partner.post(
        "/checks/new",
        data={
            "csrf_token": csrf(partner, "/checks/new"),
            "purpose": "bank_account",
            "method": "attributes",
            "given": GIVEN,
            "family": FAMILY,
            "document": DOCUMENT,
            "dob-day": str(DOB.day),
            "dob-month": str(DOB.month),
            "dob-year": str(DOB.year),
        },
    )


def test_person_locks_and_unlocks_attribute_checks(
    client: TestClient, partner: TestClient, world: Any, person: uuid.UUID
) -> None:
    world.agreement(
        purposes=["bank_account"],
        data_items=["name", "date_of_birth", "lawfully_resident", "valid_until"],
    )
    sign_in_person(client)
    page = client.get("/my/locks").text
    assert "Not locked" in page
    assert "share code to can still check your status with it" in page
    assert "Checks the law requires" in page and 'href="/my/checks"' in page
    token = csrf(client, "/my/locks")
    missing = client.post("/my/locks", data={"csrf_token": token})
    assert missing.status_code == 422
    assert error_messages(missing.text) == [
        "Select whether to lock checks by name and date of birth"
    ]
    locked = client.post("/my/locks", data={"csrf_token": token, "lock": "on"})
    assert "Checks by name and date of birth are locked" in locked.text
    assert re.search(r'id="lock-state">\s*<strong[^>]*>Locked<', locked.text)
    refused = bank_check(partner)
    assert refused.status_code == 403 and "This check was refused" in refused.text
    unlocked = client.post("/my/locks", data={"csrf_token": token, "lock": "off"})
    assert "are unlocked" in unlocked.text and "Not locked" in unlocked.text
    assert "Confirmed" in bank_check(partner).text
    actions = [e.action for e in audited(world.session, "person.lock.%")]
    assert actions == ["person.lock.set", "person.lock.clear"]
    world.session.rollback()  # end the read: on SQLite the app's request needs the lock
    # "Who checked your data" names both in plain English.
    who = client.get("/my/checks").text
    assert "You locked checks by name and date of birth" in who
    assert "You unlocked checks by name and date of birth" in who
    assert "person lock" not in who


def test_partner_checks_a_credential_pasted_or_uploaded(
    client: TestClient, partner: TestClient, world: Any, person: uuid.UUID
) -> None:
    sign_in_person(client)
    cid = get_credential(client)
    jwt = client.get(f"/my/credentials/{cid}.jwt").text

    form = partner.get("/credentials/verify")
    assert form.status_code == 200 and "Check a digital status credential" in form.text
    assert 'href="/credentials/verify"' in form.text  # in the partner's navigation
    token = csrf(partner, "/credentials/verify")

    pasted = partner.post("/credentials/verify", data={"csrf_token": token, "credential": jwt})
    assert pasted.status_code == 200
    assert "This credential is genuine, in date and has not been revoked" in pasted.text
    assert f"{GIVEN} {FAMILY}" in pasted.text and "May work" in pasted.text
    assert 'id="checked-at"' in pasted.text

    uploaded = partner.post(
        "/credentials/verify",
        data={"csrf_token": token, "credential": ""},
        files={"credential_file": (f"credential-{cid}.jwt", jwt.encode(), "application/vc+jwt")},
    )
    assert uploaded.status_code == 200 and "Valid" in uploaded.text

    CredentialService(world.session).revoke(uuid.UUID(cid), as_person(person))
    world.session.commit()  # the test is the boundary: services never commit
    revoked = partner.post("/credentials/verify", data={"csrf_token": token, "credential": jwt})
    assert "This credential was revoked on" in revoked.text
    assert "Do not accept this credential" in revoked.text
    assert f"{GIVEN} {FAMILY}" not in revoked.text  # no status summary unless valid

    head, body, sig = jwt.strip().split(".")
    forged = f"{head}.{body}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
    altered = partner.post("/credentials/verify", data={"csrf_token": token, "credential": forged})
    assert "Not genuine" in altered.text and "altered or damaged" in altered.text
    results = [e.details["result"] for e in audited(world.session, "credential.verify")]
    assert results == ["valid", "valid", "revoked", "bad_signature"]


def test_verify_form_errors_name_the_field_and_audit_nothing(
    partner: TestClient, world: Any
) -> None:
    token = csrf(partner, "/credentials/verify")
    neither = partner.post("/credentials/verify", data={"csrf_token": token})
    assert neither.status_code == 422
    assert error_messages(neither.text) == [
        "Paste the credential text or choose the credential file"
    ]
    both_wrong = partner.post(
        "/credentials/verify",
        data={"csrf_token": token, "credential": "hello"},
        files={"credential_file": ("notes.jwt", b"not a credential", "text/plain")},
    )
    assert both_wrong.status_code == 422
    assert error_messages(both_wrong.text) == [
        "The text you pasted is not a credential. Paste all of the text from the file or the "
        "QR code",
        "The file you chose is not a credential. Choose the .jwt file the person gave you",
    ]
    assert 'href="#credential_file"' in both_wrong.text
    assert 'id="credential_file"' in both_wrong.text
    empty = partner.post(
        "/credentials/verify",
        data={"csrf_token": token},
        files={"credential_file": ("empty.jwt", b"", "text/plain")},
    )
    assert error_messages(empty.text) == [
        "The credential file is empty. Choose the .jwt file the person gave you"
    ]
    assert audited(world.session, "credential.verify") == []


def test_only_partner_users_see_the_verify_page(app: Any, client: TestClient, world: Any) -> None:
    sign_in(client, "officer")
    assert client.get("/credentials/verify").status_code == 403
    assert 'href="/credentials/verify"' not in client.get("/console").text

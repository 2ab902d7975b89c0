"""Real-time checks through the API: outcomes, the no-hint rule, limits, bad input, contests."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from shareguard.accounts.principal import Principal
from shareguard.audit.models import AuditEntry
from shareguard.checks import AttributeQuery, CheckService, share_code
from shareguard.checks.cases import RESPONSE_DAYS, CaseService, open_case_for
from shareguard.checks.models import Case, Check
from shareguard.status import StatusService
from shareguard.status.models import ShareCode
from shareguard.storage.base import today, utcnow
from shareguard.storage.db import unit_of_work
from tests import factories
from tests.factories import bearer, integrated

RTW_ITEMS = ["name", "photo_ref", "may_work", "work_conditions", "valid_until"]
DL_ITEMS = ["name", "date_of_birth", "lawfully_resident", "valid_until"]
DOB = date(1988, 3, 9)


def person(
    world, given="Aleksandr", family="Petrov", dob=DOB, status="limited_leave", docs=(), **status_kw
):  # type: ignore[no-untyped-def]
    p = factories.person(world, given, family, dob, documents=docs, nationality="RUS", commit=False)
    if status:
        factories.status_record(world, p.id, status, commit=False, **status_kw)
    world.session.commit()
    return p


def code_for(world, p, purpose="right_to_work", days=90) -> tuple[uuid.UUID, str]:  # type: ignore[no-untyped-def]
    row, code = factories.share_code(world, p.id, purpose, days=days)
    return row.id, code


@pytest.fixture
def rtw(world):  # type: ignore[no-untyped-def]
    """An active right-to-work agreement with the test agency as recipient."""
    return world.agreement(purposes=["right_to_work"], data_items=RTW_ITEMS)


@pytest.fixture
def dl(world):  # type: ignore[no-untyped-def]
    return world.agreement(purposes=["driving_licence"], data_items=DL_ITEMS)


def share_check(client, world, code, dob=DOB, purpose="right_to_work"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/checks/share-code",
        headers=bearer(world.keys["agency"]),
        json={"code": code, "date_of_birth": str(dob), "purpose": purpose},
    )


def counts(world) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    s = world.session
    s.expire_all()
    out = (
        s.scalar(select(func.count()).select_from(Check)) or 0,
        s.scalar(select(func.count()).select_from(AuditEntry)) or 0,
    )
    s.rollback()  # end the read: SQLite transactions here take the write lock
    return out


# share codes ------------------------------------------------------------------------------


def test_share_code_confirms_with_only_the_purposes_answer(client, world, rtw) -> None:  # type: ignore[no-untyped-def]
    p = person(world, work_conditions="20 hours a week in term time")
    _, code = code_for(world, p)
    r = share_check(client, world, code[:3] + " " + code[3:6].lower() + "-" + code[6:])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "confirmed"
    assert body["answer"]["may_work"] == "yes_with_conditions"
    assert body["answer"]["name"] == "Aleksandr Petrov"
    # Only right to work's answer shape: no date of birth, nationality or status kind.
    assert set(body["answer"]) <= set(RTW_ITEMS)
    assert "contest" not in body
    ref = uuid.UUID(body["check_reference"])
    # The check is kept, and the person can see it: an audit entry names them.
    world.session.expire_all()
    check = world.session.get(Check, ref)
    assert check.outcome == "confirmed" and check.disclosure_id is not None
    entry = world.session.get(AuditEntry, check.audit_entry_id)
    assert entry.subject_ref == str(p.id)
    world.session.rollback()  # end the read: SQLite transactions here take the write lock
    # The checker can look the check up again by its reference.
    again = client.get(f"/api/v1/checks/{ref}", headers=bearer(world.keys["agency"]))
    assert again.json()["outcome"] == "confirmed"


def test_no_work_gives_not_confirmed_with_contest_route(client, world, rtw) -> None:  # type: ignore[no-untyped-def]
    p = person(world, may_work=False)
    _, code = code_for(world, p)
    body = share_check(client, world, code).json()
    assert body["outcome"] == "not_confirmed"
    assert body["answer"]["may_work"] == "no"
    assert body["contest"]["contest_url"].endswith("/contest")


def test_pending_appeal_is_referred_not_refused(client, world, rtw) -> None:  # type: ignore[no-untyped-def]
    p = person(
        world,
        status="limited_leave",
        valid_from=today() - timedelta(days=800),
        valid_to=today() - timedelta(days=5),
    )
    factories.appealed(world, p.id, commit=False)
    _, code = code_for(world, p)
    body = share_check(client, world, code).json()
    assert body["outcome"] == "referred"
    assert "answer" not in body
    assert body["case"]["state"] == "open" and body["contest"]
    assert open_case_for(world.session, p.id)


def test_no_hint_which_part_was_wrong(client, world, rtw) -> None:  # type: ignore[no-untyped-def]
    p = person(world)
    _, code = code_for(world, p)
    revoked_id, revoked = code_for(world, p)
    StatusService(world.session).revoke_share_code(p.id, revoked_id, world.principals["caseworker"])
    expired_id, expired = code_for(world, p)
    world.session.execute(
        update(ShareCode)
        .where(ShareCode.id == expired_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    world.session.commit()
    _, rent_code = code_for(world, p, purpose="right_to_rent")
    unknown = "".join(reversed(code))
    attempts = {
        "wrong date of birth": share_check(client, world, code, dob=DOB + timedelta(days=1)),
        "revoked": share_check(client, world, revoked),
        "expired": share_check(client, world, expired),
        "other purpose": share_check(client, world, rent_code),
        "unknown code": share_check(client, world, unknown if unknown != code else "AAAAAAAAA"),
    }
    shapes = set()
    for what, r in attempts.items():
        assert r.status_code == 200, what
        body = r.json()
        assert body["outcome"] == "no_match", what
        body.pop("check_reference"), body.pop("at"), body.pop("audit_entry_id")
        body["contest"].pop("check_reference")
        shapes.add(repr(sorted(body.items())))
    assert len(shapes) == 1  # byte-for-byte the same answer apart from the references
    # and the right code still works
    assert share_check(client, world, code).json()["outcome"] == "confirmed"


def test_failures_are_rate_limited_per_code_and_audited(client, world, rtw, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    p = person(world)
    _, code = code_for(world, p)
    for _ in range(share_code.CODE_FAILURES):
        assert (
            share_check(client, world, code, dob=date(2000, 1, 1)).json()["outcome"] == "no_match"
        )
    r = share_check(client, world, code)  # even the right date: the code is locked for a while
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    world.session.expire_all()
    limited = world.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "check.rate_limited")
    )
    assert limited == 1


def test_failures_are_rate_limited_per_organisation_across_sessions(
    world, rtw, engine, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(share_code, "ORG_FAILURES", 3)
    agency = world.principals["agency"]
    for i in range(3):
        # A fresh unit of work each time, as separate processes would have: the counter is stored.
        with unit_of_work(engine) as s:
            out = CheckService(s).share_code_check(
                agency, f"AAAAAAAA{'CEF'[i]}", DOB, "right_to_work"
            )
            assert out.outcome == "no_match"
    from shareguard.errors import RateLimited

    with pytest.raises(RateLimited), unit_of_work(engine) as s:
        CheckService(s).share_code_check(agency, "CCCCCCCCC", DOB, "right_to_work")
    # another organisation is not affected
    from shareguard.agreements.schemas import PartyIn

    world.agreement(
        purposes=["right_to_work"],
        data_items=RTW_ITEMS,
        parties=[
            PartyIn(organisation="Test Department", role="discloser"),
            PartyIn(organisation="Test Bank", role="recipient"),
        ],
    )
    bank = world.principals["bank"]
    with unit_of_work(engine) as s:
        assert (
            CheckService(s).share_code_check(bank, "CCCCCCCCC", DOB, "right_to_work").outcome
            == "no_match"
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "ABC", "date_of_birth": "1988-03-09", "purpose": "right_to_work"}, "code"),
        ({"code": "O0O0O0O0O", "date_of_birth": "1988-03-09", "purpose": "right_to_work"}, "code"),
        (
            {"code": "ACEFGHJKM", "date_of_birth": "1988-02-30", "purpose": "right_to_work"},
            "date_of_birth",
        ),
        ({"code": "ACEFGHJKM", "date_of_birth": "1988-03-09", "purpose": "spying"}, "purpose"),
    ],
)
def test_bad_share_code_input_is_refused_whole(client, world, rtw, body, field) -> None:  # type: ignore[no-untyped-def]
    before = counts(world)
    r = client.post("/api/v1/checks/share-code", headers=bearer(world.keys["agency"]), json=body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field
    assert body["code"] not in r.text  # the value is never echoed
    assert counts(world) == before


def test_oversized_name_is_refused_whole(client, world, dl) -> None:  # type: ignore[no-untyped-def]
    before = counts(world)
    r = client.post(
        "/api/v1/checks/attributes",
        headers=bearer(world.keys["agency"]),
        json={
            "purpose": "driving_licence",
            "given": "A" * 101,
            "family": "Petrov",
            "date_of_birth": str(DOB),
        },
    )
    assert r.status_code == 422 and r.json()["field"] == "given"
    assert counts(world) == before


def test_revoked_code_stops_working_at_once(client, world, rtw) -> None:  # type: ignore[no-untyped-def]
    p = person(world)
    code_id, code = code_for(world, p)
    assert share_check(client, world, code).json()["outcome"] == "confirmed"
    r = client.post(
        f"/api/v1/persons/{p.id}/share-codes/{code_id}/revoke",
        headers=bearer(world.keys["caseworker"]),
    )
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert share_check(client, world, code).json()["outcome"] == "no_match"


# attribute checks ---------------------------------------------------------------------------


def attr(world, given, family, dob=DOB, **kw):  # type: ignore[no-untyped-def]
    return CheckService(world.session).attribute_check(
        world.principals["agency"], AttributeQuery("driving_licence", given, family, dob, **kw)
    )


def test_attribute_check_tolerates_variants(world, dl) -> None:  # type: ignore[no-untyped-def]
    p = person(world)
    person(world, given="Olga", family="Smirnova")  # someone else, same date of birth
    for given, family, dob in [
        ("Alexander", "Petrov", DOB),
        ("Petrov", "Aleksandr", DOB),
        ("Aleksandr", "Petrov", date(1988, 9, 3)),
    ]:
        out = attr(world, given, family, dob)
        assert out.outcome == "confirmed", (given, family, dob)
        assert out.check.person_id == p.id
        assert out.answer["lawfully_resident"] is True
        assert set(out.answer) <= set(DL_ITEMS)


def test_strong_match_without_status_is_not_confirmed(world, dl) -> None:  # type: ignore[no-untyped-def]
    p = person(world, status="no_leave", valid_to=None)
    out = attr(world, "Aleksandr", "Petrov")
    assert out.outcome == "not_confirmed" and out.check.person_id == p.id
    assert out.contest is not None


def test_ambiguous_or_weak_is_referred_never_not_confirmed(world, dl) -> None:  # type: ignore[no-untyped-def]
    person(world, status="no_leave", valid_to=None)
    person(world, given="Alexander", family="Petrov", status="no_leave", valid_to=None)
    out = attr(world, "Aleksandr", "Petrov")
    assert out.outcome == "referred" and out.case is not None and out.contest
    assert out.check.person_id is None  # several candidates: attributed to no one
    weak = attr(world, "Aleks", "Petrenko")
    assert weak.outcome == "referred"
    nobody = attr(world, "Zofia", "Nowak", date(1970, 1, 1))
    assert nobody.outcome == "referred" and nobody.case is not None


def test_document_number_disagreeing_prevents_confirmation(world, dl) -> None:  # type: ignore[no-untyped-def]
    person(world, docs=["AB1234567"])
    assert attr(world, "Aleksandr", "Petrov", document_number="ab 123 4567").outcome == "confirmed"
    assert attr(world, "Aleksandr", "Petrov", document_number="ZZ0000000").outcome == "referred"


def test_right_to_work_is_never_checked_by_attributes(client, world, rtw) -> None:  # type: ignore[no-untyped-def]
    person(world)
    r = client.post(
        "/api/v1/checks/attributes",
        headers=bearer(world.keys["agency"]),
        json={
            "purpose": "right_to_work",
            "given": "Aleksandr",
            "family": "Petrov",
            "date_of_birth": str(DOB),
        },
    )
    assert r.status_code == 422


# referrals and contests ---------------------------------------------------------------------


def test_contest_flow(client, world, dl) -> None:  # type: ignore[no-untyped-def]
    p = person(world, status="no_leave", valid_to=None)
    out = attr(world, "Aleksandr", "Petrov")
    assert out.outcome == "not_confirmed"
    check_id = out.check.id
    assert not open_case_for(world.session, p.id)
    me = Principal(organisation_id=None, person_id=p.id)
    svc = CaseService(world.session)
    case = svc.contest(check_id, me, "I have leave; my documents were mislaid")
    case_id = case.id
    assert case.state == "open" and case.kind == "contest"
    assert case.respond_by == today() + timedelta(days=RESPONSE_DAYS)
    assert open_case_for(world.session, p.id)  # no adverse action may be recorded now
    world.session.commit()  # the test is the boundary: services never commit
    # The checker sees the case's progress under its check reference.
    seen = client.get(f"/api/v1/checks/{check_id}", headers=bearer(world.keys["agency"])).json()
    assert seen["case"]["state"] == "open"
    # The caseworker finds it in the queue and closes it.
    queue = client.get("/api/v1/cases", headers=bearer(world.keys["caseworker"])).json()
    assert [c["id"] for c in queue] == [str(case_id)]
    r = client.post(
        f"/api/v1/cases/{case_id}/resolve",
        headers=bearer(world.keys["caseworker"]),
        json={"outcome": "confirmed", "note": "leave confirmed from the paper file"},
    )
    assert r.status_code == 200 and r.json()["state"] == "closed"
    world.session.expire_all()
    assert not open_case_for(world.session, p.id)
    actions = set(
        world.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_ref == str(p.id)))
    )
    assert {"check.contest", "check.case_closed"} <= actions


def test_confirmed_results_cannot_be_contested_and_others_cannot_contest(world, dl) -> None:  # type: ignore[no-untyped-def]
    from shareguard.errors import Conflict, Forbidden, NotFound

    p = person(world)
    other = person(world, given="Olga", family="Smirnova")
    out = attr(world, "Aleksandr", "Petrov")
    svc = CaseService(world.session)
    with pytest.raises(Conflict):
        svc.contest(out.check.id, Principal(organisation_id=None, person_id=p.id))
    refused = attr(world, "Zofia", "Nowak", date(1970, 1, 1))
    with pytest.raises(Forbidden):
        svc.contest(refused.check.id, world.principals["agency"])
    p2 = person(world, given="Ivan", family="Sidorov", status="no_leave", valid_to=None)
    nc = attr(world, "Ivan", "Sidorov")
    assert nc.check.person_id == p2.id
    with pytest.raises(NotFound):
        svc.contest(nc.check.id, Principal(organisation_id=None, person_id=other.id))


# concurrency --------------------------------------------------------------------------------


def test_concurrent_checks_lose_no_audit_entry(world, rtw, engine) -> None:  # type: ignore[no-untyped-def]
    p = person(world)
    codes = [code_for(world, p)[1] for _ in range(4)]
    agency = world.principals["agency"]
    errors: list[BaseException] = []
    per_thread = 5

    def work(code: str) -> None:
        try:
            for i in range(per_thread):
                with unit_of_work(engine) as s:
                    dob = DOB if i % 2 == 0 else date(1999, 1, 1)
                    CheckService(s).share_code_check(agency, code, dob, "right_to_work")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    world.session.expire_all()
    checks = list(world.session.scalars(select(Check)))
    assert len(checks) == len(codes) * per_thread
    ids = {c.audit_entry_id for c in checks}
    assert None not in ids and len(ids) == len(checks)
    seqs = set(integrated(world.session, list(ids)))  # each gets its own place in the log
    assert None not in seqs and len(seqs) == len(checks)
    found = world.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.in_(seqs))
    )
    assert found == len(checks)
    confirmed = [c for c in checks if c.outcome == "confirmed"]
    assert len(confirmed) == len(codes) * 3
    assert world.session.scalar(select(func.count()).select_from(Case)) == 0


# the policy ---------------------------------------------------------------------------------


def test_checker_without_agreement_is_refused_before_any_lookup(client, world) -> None:  # type: ignore[no-untyped-def]
    p = person(world)
    _, code = code_for(world, p)
    right = share_check(client, world, code)
    wrong = share_check(client, world, "ACEFGHJKM")
    # The same refusal whether or not the code is right: nothing is learnt about the code.
    assert right.status_code == wrong.status_code == 403
    assert right.json()["detail"] == wrong.json()["detail"]
    world.session.expire_all()
    assert world.session.scalar(select(func.count()).select_from(Check)) == 0
    denied = world.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.decision == "deny")
    )
    assert denied == 2


def test_paused_agreement_refuses_attribute_checks(client, world, dl) -> None:  # type: ignore[no-untyped-def]
    from shareguard.agreements.service import AgreementService

    person(world)
    AgreementService(world.session).transition(dl, "pause", world.principals["officer"], "review")
    world.session.commit()
    r = client.post(
        "/api/v1/checks/attributes",
        headers=bearer(world.keys["agency"]),
        json={
            "purpose": "driving_licence",
            "given": "Aleksandr",
            "family": "Petrov",
            "date_of_birth": str(DOB),
        },
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "Aleksandr" not in r.text

"""Builders for test data. Synthetic only; names are obviously invented."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.accounts.service import AccountService
from shareguard.agreements.schemas import AgreementIn, PartyIn
from shareguard.agreements.service import AgreementService
from shareguard.policy.models import Pause
from shareguard.policy.schemas import PauseIn
from shareguard.policy.service import PauseService
from shareguard.status.models import ImmigrationDecision, Person, ShareCode, StatusRecord
from shareguard.status.schemas import DecisionIn, DocumentIn, NameIn, PersonIn, StatusIn
from shareguard.status.service import StatusService
from shareguard.storage.base import today

PASSWORD = "test-password-123"


@dataclass
class TestWorld:
    __test__ = False  # a builder, not a test class
    session: Session
    orgs: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def agreement(self, **overrides: Any) -> uuid.UUID:
        """Create (and by default activate) an agreement; returns its id."""
        activate = overrides.pop("activate", True)
        data = agreement_fields(**overrides)
        svc = AgreementService(self.session)
        a = svc.create(AgreementIn(**data), self.principals["officer"])
        if activate:
            svc.transition(a.id, "activate", self.principals["officer2"])
        self.session.commit()  # a builder is its own unit of work (services never commit)
        return a.id


#: A rule for every kind an agreement's records can be, so any test agreement may activate.
RETENTION_RULES = {
    "check": "P1Y after check",
    "match_run": "P6M after run",
    "partner_dataset": "P30D after import",
    "request": "P2Y after answer",
    "inbound": "P2Y after receipt",
}


def agreement_fields(**overrides: Any) -> dict[str, Any]:
    on = today()
    fields: dict[str, Any] = {
        "reference": f"T-{uuid.uuid4().hex[:8].upper()}",
        "title": "Test agreement",
        "purposes": ["driving_licence"],
        "data_items": ["name", "date_of_birth", "lawfully_resident", "valid_until"],
        "parties": [
            PartyIn(organisation="Test Department", role="discloser"),
            PartyIn(organisation="Test Agency", role="recipient"),
        ],
        "legal_gateway_statute": "Test Act 2020",
        "legal_gateway_section": "s.1",
        "lawful_basis": "Art 6(1)(e) public task",
        "dpia_reference": "DPIA-T",
        "dpia_date": on - timedelta(days=30),
        "necessity_statement": "necessary",
        "data_standards": "checked",
        "rights_handling": "handled",
        "contact_point": "contact@test.example",
        "retention": "1 year",
        "retention_rules": dict(RETENTION_RULES),
        "security_measures": "TLS",
        "frequency": "real time",
        "limit_per_day": 1000,
        "start_date": on - timedelta(days=10),
        "review_date": on + timedelta(days=300),
        "termination_procedure": "notice",
        "amendment_duty": "tell partners",
        "decision_maker": "Director (test)",
    }
    fields.update(overrides)
    return fields


def build_world(session: Session) -> TestWorld:
    accounts = AccountService(session)
    w = TestWorld(session)
    for name, type_, code in [
        ("Test Department", "government_department", "dept"),
        ("Test Agency", "agency", "agency"),
        ("Test Bank", "bank", "bank"),
    ]:
        w.orgs[code] = accounts.create_organisation(name, type_).id
    for code, org, roles in [
        ("officer", "dept", ["governance_officer"]),
        ("officer2", "dept", ["governance_officer"]),
        ("caseworker", "dept", ["caseworker"]),
        ("caseworker2", "dept", ["caseworker"]),
        ("reviewer", "dept", ["reviewer"]),
        ("auditor", "dept", ["auditor"]),
        ("agency_user", "agency", ["partner_user"]),
    ]:
        user = accounts.create_user(w.orgs[org], f"{code}@test.example", code, roles, PASSWORD)
        w.users[code] = user.id
        w.principals[code] = accounts.principal_for_user(user)
    for code in ("agency", "bank"):
        _, token = accounts.issue_key(w.orgs[code], f"{code} key")
        w.keys[code] = token
        w.principals[code] = accounts.authenticate_key(token)
    for code in ("officer", "officer2", "caseworker", "reviewer", "auditor"):
        _, token = accounts.issue_key(w.orgs["dept"], f"{code} key", user_id=w.users[code])
        w.keys[code] = token
    session.commit()  # a builder is its own unit of work (services never commit)
    return w


# persons, status records, decisions ----------------------------------------------------------
# Each builder records through the status service as a caseworker (``by``) would, then commits:
# a builder is its own unit of work, like a request, so later requests and sessions see it.

PERSON_DOB = date(1988, 3, 9)


def _session(where: Session | TestWorld) -> Session:
    return where.session if isinstance(where, TestWorld) else where


def _by(where: Session | TestWorld, by: Principal | None) -> Principal:
    if by is not None:
        return by
    if isinstance(where, TestWorld):
        return where.principals["caseworker"]
    return Principal(organisation_id=None, roles=frozenset({"caseworker"}))


def person(
    where: Session | TestWorld,
    given: str = "Aleksandr",
    family: str = "Petrov",
    date_of_birth: date = PERSON_DOB,
    *,
    by: Principal | None = None,
    documents: tuple[str, ...] | list[dict[str, str]] = (),
    other_names: Iterable[NameIn] = (),
    commit: bool = True,
    **fields: Any,
) -> Person:
    """A person with one primary name (``fields``: nationality, postcode, categories, ...).

    ``documents``: passport numbers, or DocumentIn fields; ``other_names``: aliases and
    transliterations after the primary name. Recorded by ``by`` (default: the world's
    caseworker) and committed unless ``commit=False``.
    """
    session = _session(where)
    docs = [DocumentIn(number=d) if isinstance(d, str) else DocumentIn(**d) for d in documents]
    row = StatusService(session).create_person(
        PersonIn(
            names=[NameIn(given=given, family=family), *other_names],
            date_of_birth=date_of_birth,
            documents=docs,
            **fields,
        ),
        _by(where, by),
    )
    if commit:
        session.commit()
    return row


def status_record(
    where: Session | TestWorld,
    person_id: uuid.UUID,
    kind: str = "limited_leave",
    *,
    by: Principal | None = None,
    commit: bool = True,
    **fields: Any,
) -> StatusRecord:
    """A status record: valid from 100 days ago and, unless settled or no leave, for 300 more.

    ``fields`` override any StatusIn field (may_work, work_conditions, valid_to, ...).
    """
    session = _session(where)
    data: dict[str, Any] = {
        "kind": kind,
        "valid_from": today() - timedelta(days=100),
        "valid_to": None if kind in ("settled", "no_leave") else today() + timedelta(days=300),
    }
    data.update(fields)
    row = StatusService(session).record_status(person_id, StatusIn(**data), _by(where, by))
    if commit:
        session.commit()
    return row


def decision(
    where: Session | TestWorld,
    person_id: uuid.UUID,
    type: str = "refusal",
    *,
    by: Principal | None = None,
    commit: bool = True,
    **fields: Any,
) -> ImmigrationDecision:
    """An immigration decision: by default a final refusal made 200 days ago whose appeal
    window closed 100 days ago. ``fields`` override any DecisionIn field."""
    session = _session(where)
    data: dict[str, Any] = {
        "type": type,
        "decided_on": today() - timedelta(days=200),
        "final": True,
        "appeal_window_end": today() - timedelta(days=100),
    }
    data.update(fields)
    row = StatusService(session).record_decision(person_id, DecisionIn(**data), _by(where, by))
    if commit:
        session.commit()
    return row


def appealed(
    where: Session | TestWorld,
    person_id: uuid.UUID,
    appeal_state: str = "pending",
    type: str = "refusal",
    *,
    by: Principal | None = None,
    commit: bool = True,
    **fields: Any,
) -> ImmigrationDecision:
    """A decision under appeal, not final: by default a refusal made 20 days ago whose appeal
    is pending, with no appeal window recorded. ``fields`` override any DecisionIn field."""
    data: dict[str, Any] = {
        "decided_on": today() - timedelta(days=20),
        "final": False,
        "appeal_window_end": None,
        "appeal_state": appeal_state,
    }
    data.update(fields)
    return decision(where, person_id, type, by=by, commit=commit, **data)


def share_code(
    where: Session | TestWorld,
    person_id: uuid.UUID,
    purpose: str = "right_to_work",
    *,
    days: int | None = None,
    by: Principal | None = None,
    commit: bool = True,
) -> tuple[ShareCode, str]:
    """A share code issued for the person by ``by`` (default: the world's caseworker), valid
    for ``days`` (default: the service's): the row and the code, shown only here."""
    session = _session(where)
    extra = {} if days is None else {"days": days}
    row, code = StatusService(session).create_share_code(
        person_id, purpose, _by(where, by), **extra
    )
    if commit:
        session.commit()
    return row, code


def pause(
    where: Session | TestWorld,
    *,
    by: Principal | None = None,
    commit: bool = True,
    **fields: Any,
) -> Pause:
    """A pause in the register, by default the inspectorate's: no sharing about people aged
    over 30, for every agreement and action. ``fields`` override any PauseIn field
    (agreements, actions, starts_at, ...). Made by ``by`` (default: the world's officer)."""
    session = _session(where)
    data: dict[str, Any] = {
        "title": "No sharing about people aged over 30",
        "reason": "Pre-1973 arrivals review",
        "age_over": 30,
    }
    data.update(fields)
    if by is None and not isinstance(where, TestWorld):
        raise ValueError("pause(session, ...) needs by=: only a TestWorld knows its officer")
    officer = by or where.principals["officer"]
    row = PauseService(session).create(PauseIn(**data), officer)
    if commit:
        session.commit()
    return row


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def yesterday() -> date:
    return today() - timedelta(days=1)


# the door's other way (tests/exchange) ----------------------------------------------------

INBOUND_ITEMS = ["name", "date_of_birth", "address", "postcode"]
GIVEN, FAMILY, DOB = "Testa", "Exemplar", date(1985, 5, 5)


@dataclass
class ExchangeWorld:
    w: TestWorld
    session: Session
    person: uuid.UUID
    agreement: uuid.UUID  # agency → dept, immigration enforcement, requests and records
    nhs_agreement: uuid.UUID  # NHS trust → dept, immigration enforcement (firewalled)
    nhs: uuid.UUID


def inbound_agreement(w: TestWorld, discloser: str, **kw: object) -> uuid.UUID:
    fields: dict[str, object] = {
        "purposes": ["immigration_enforcement"],
        "data_items": INBOUND_ITEMS,
        "parties": [
            PartyIn(organisation=discloser, role="discloser"),
            PartyIn(organisation="Test Department", role="recipient"),
        ],
    }
    fields.update(kw)
    return w.agreement(**fields)


def build_exchange_world(session: Session) -> ExchangeWorld:
    """``build_world`` plus an NHS trust, one person and two inbound agreements."""
    w = build_world(session)
    nhs = AccountService(session).create_organisation("Test NHS Trust", "nhs_body").id
    someone = person(w, GIVEN, FAMILY, DOB)
    return ExchangeWorld(
        w=w,
        session=session,
        person=someone.id,
        agreement=inbound_agreement(w, "Test Agency", reference="T-AG-HO-001"),
        nhs_agreement=inbound_agreement(w, "Test NHS Trust", reference="T-NHS-HO-002"),
        nhs=nhs,
    )


def integrated(session: Session, entries: Iterable[Any] = ()) -> list[int]:
    """Commit the session's work, integrate every pending audit entry, and return the sequence
    numbers of ``entries`` (audit entries, or their ids), in order.

    Appending only writes an entry; its number and leaf hash come from the integrator once
    the transaction has committed (within a second while serving). A test that reads
    ``entry.seq``, the tree or the log's tail right after appending calls this first, as the
    integrator would have run by then. Waits for a running integrator (a test's own app on
    PostgreSQL) instead, as the CLI does.
    """
    from sqlalchemy import select

    from shareguard.audit import AuditEntry
    from shareguard.audit.integrator import catch_up

    session.commit()
    left = catch_up(session)
    session.commit()
    assert left == 0, f"{left} audit entries are still pending"
    ids = [e if isinstance(e, uuid.UUID) else e.id for e in entries]
    if not ids:
        return []
    seqs = dict(
        session.execute(select(AuditEntry.id, AuditEntry.seq).where(AuditEntry.id.in_(ids))).all()
    )
    session.commit()  # end the read: on SQLite a transaction holds the write lock
    return [seqs[i] for i in ids]

"""A person with a current status, and ways to read the audit log, for credential tests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.audit import AuditEntry
from shareguard.status.schemas import PersonIn, StatusIn
from shareguard.status.service import StatusService
from shareguard.storage.base import today
from tests.factories import integrated

GIVEN, FAMILY = "Testa", "Exampleperson"
DOB = today() - timedelta(days=365 * 30)


def make_person(world: Any, *, valid_to_days: int | None = 400, **status: Any) -> uuid.UUID:
    svc = StatusService(world.session)
    cw = world.principals["caseworker"]
    person = svc.create_person(
        PersonIn(
            names=[{"given": GIVEN, "family": FAMILY}],
            date_of_birth=DOB,
            documents=[{"number": "TST123456", "issuing_country": "GBR"}],
        ),
        cw,
    )
    fields: dict[str, Any] = {
        "kind": "limited_leave",
        "valid_from": today() - timedelta(days=100),
        "valid_to": today() + timedelta(days=valid_to_days) if valid_to_days else None,
        "may_work": True,
    }
    if valid_to_days is None:
        fields["kind"] = "settled"
    fields.update(status)
    svc.record_status(person.id, StatusIn(**fields), cw)
    return person.id


def as_person(person_id: uuid.UUID) -> Principal:
    """The person signed in to the person-facing service."""
    return Principal(organisation_id=None, person_id=person_id)


def audit(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    integrated(session)  # log order: numbers come at integration
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return list(session.scalars(stmt))


@pytest.fixture
def person(world: Any) -> uuid.UUID:
    return make_person(world)

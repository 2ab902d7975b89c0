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
from shareguard.storage.base import today
from tests import factories
from tests.factories import integrated

GIVEN, FAMILY = "Testa", "Exampleperson"
DOB = today() - timedelta(days=365 * 30)


def make_person(
    world: Any, *, valid_to_days: int | None = 400, document: str = "TST123456", **status: Any
) -> uuid.UUID:
    person = factories.person(
        world,
        GIVEN,
        FAMILY,
        DOB,
        documents=[{"number": document, "issuing_country": "GBR"}],
        commit=False,
    )
    fields: dict[str, Any] = {
        "valid_to": today() + timedelta(days=valid_to_days) if valid_to_days else None,
        "may_work": True,
    }
    fields.update(status)
    kind = fields.pop("kind", "settled" if valid_to_days is None else "limited_leave")
    factories.status_record(world, person.id, kind, **fields)
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

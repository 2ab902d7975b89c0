"""Which way an agreement's data flows, seen from the organisation that runs shareguard.

The operator (the Home Office in the demo) is the organisation whose staff sign in to the
console: governance officers, caseworkers, reviewers and auditors. An agreement under which
the operator discloses is ``outbound``; one under which it only receives is ``inbound``;
one between two other organisations is ``between_partners``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Role, User
from shareguard.agreements.models import Agreement

DIRECTIONS = ("outbound", "inbound", "between_partners")
STAFF_ROLES = frozenset({Role.GOVERNANCE_OFFICER, Role.CASEWORKER, Role.REVIEWER, Role.AUDITOR})
TITLES = {
    "outbound": "Sent by the Home Office",
    "inbound": "Sent to the Home Office",
    "between_partners": "Between partners",
}


def operator_ids(session: Session) -> frozenset[uuid.UUID]:
    """Organisations with staff users: the operator of this shareguard."""
    found = set()
    for org_id, roles in session.execute(select(User.organisation_id, User.roles)):
        if STAFF_ROLES.intersection(roles or ()):
            found.add(org_id)
    return frozenset(found)


def direction_of(
    disclosers: Iterable[uuid.UUID],
    recipients: Iterable[uuid.UUID],
    operators: frozenset[uuid.UUID],
) -> str:
    """``outbound``, ``inbound`` or ``between_partners`` (outbound when no operator is known)."""
    if not operators or operators.intersection(disclosers):
        return "outbound"
    if operators.intersection(recipients):
        return "inbound"
    return "between_partners"


def direction(session: Session, agreement: Agreement) -> str:
    return direction_of(agreement.disclosers(), agreement.recipients(), operator_ids(session))

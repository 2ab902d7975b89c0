"""The one door's value types: who and what a disclosure is about, and the decision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shareguard.accounts.principal import Principal

#: Decision kinds, in the order a refusal is looked for.
KINDS = (
    "permit",
    "key_scope",
    "agreement_state",
    "firewall",
    "pause",
    "lock",
    "no_agreement",
    "limit",
)


@dataclass(frozen=True)
class Subject:
    """The person a disclosure is about, as the policy needs them (never logged)."""

    ref: str
    date_of_birth: date | None = None
    categories: frozenset[str] = frozenset()
    appeal_state: str = "none"
    locks: frozenset[str] = frozenset()

    def age_on(self, on: date) -> int | None:
        """Whole years on ``on``, or None when the date of birth is unknown."""
        if self.date_of_birth is None:
            return None
        dob = self.date_of_birth
        return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


@dataclass(frozen=True)
class DisclosureRequest:
    """One flow to decide: who acts, under which agreement, which data items, about whom.

    Every flow has a discloser and a recipient, both parties of the agreement. For the
    receiving actions (``check``, ``bulk_disclosure``, ``export``, ``request``) the principal's
    organisation is the recipient and the discloser defaults to the agreement's discloser; for
    the disclosing actions (``answer``, ``submit``) the principal's organisation is the discloser
    and the recipient defaults to the agreement's recipient. Name either party to choose
    between several. ``offered_items`` are every data item the sender carried, including any
    the door will minimise away: firewall rules look at them too, so a firewalled item is
    refused rather than quietly dropped.
    """

    principal: Principal
    action: str
    agreement_id: uuid.UUID | None
    purpose: str
    data_items: tuple[str, ...]
    subject: Subject | None = None
    check_method: str | None = None
    at: datetime | None = None
    discloser_id: uuid.UUID | None = None
    recipient_id: uuid.UUID | None = None
    offered_items: tuple[str, ...] = ()
    #: The discloser's organisation type (nhs_body, school, ...). The door reads it from the
    #: organisation register, whatever a caller sets; only the bare engine reads this field.
    discloser_type: str = ""


@dataclass(frozen=True)
class Decision:
    """Allowed or not, why (for people) and which policies determined it."""

    allowed: bool
    kind: str
    reason: str
    policies: tuple[str, ...] = ()
    #: The agreement the request was decided under, when there was one.
    agreement_id: uuid.UUID | None = None
    #: The organisation the data flows from, and the one it flows to (ids; None if unknown).
    discloser_id: uuid.UUID | None = None
    recipient_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Disclosed:
    decision: Decision
    answer: dict[str, Any] | None
    disclosure_id: uuid.UUID | None
    #: The audit entry recording the disclosure or refusal (its place in the log comes later).
    audit_entry_id: uuid.UUID

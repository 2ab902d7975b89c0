"""One answer about a person's immigration status, whichever way it leaves.

A share-code check, an attribute check, a credential and a bulk match result all build the
person's answer here, so a partner gets the same fact in the same shape whichever way it
reached them, and one rule decides what "current status" means. The one door then minimises
the answer to the purpose's answer shape and the agreement's data items.

Shapes (see docs/contracts.md): facts that hold or do not are booleans (``may_rent``,
``lawfully_resident``, ``public_funds``, ``exempt_from_charges``); ``may_work`` keeps its
published three values (``yes`` / ``yes_with_conditions`` / ``no``); dates are ISO 8601;
unknown values are ``None``; ``status`` is the current status's kind, or ``"none"``.
"Current status" is ``StatusService``'s one rule: the newest record not superseded and valid
on the day; the decision carried is the newest current one that has not been overturned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shareguard.agreements.catalogue import PURPOSES
from shareguard.status.models import AppealState, Person, StatusKind
from shareguard.status.service import PersonFacts, Standing, appeal_state_of

CONFIRMED, NOT_CONFIRMED, REFERRED = "confirmed", "not_confirmed", "referred"


@dataclass(frozen=True)
class StatusAnswer:
    """The fullest answer about a person for a purpose, before the door minimises it."""

    answer: dict[str, Any]
    #: ``confirmed`` when the purpose's fact holds; else ``referred`` while an appeal is open
    #: (leave may continue: a caseworker must look), else ``not_confirmed``.
    outcome: str
    #: Ids of the status record and decision whose data the answer carries (the disclosure's
    #: ``record_refs``, so a correction of either reaches its recipient).
    record_refs: list[str]


def status_answer(person: PersonFacts | Person, standing: Standing, purpose: str) -> StatusAnswer:
    """The answer about ``person`` for ``purpose`` from their ``standing`` (current status and
    current decisions, from ``StatusService.standing``). KeyError for an unknown purpose."""
    rule = PURPOSES[purpose]
    facts = person if isinstance(person, PersonFacts) else PersonFacts.of(person)
    status: Any = standing.status  # a StatusRecord or a result row with its columns
    valid = status is not None and status.kind != StatusKind.NO_LEAVE
    holds = {
        "may_work": valid and bool(status.may_work),
        "may_rent": valid and bool(status.may_rent),
        "lawfully_resident": valid,
        "public_funds": valid and bool(status.public_funds),
        "exempt_from_charges": valid,
    }
    conditions = (status.work_conditions or "") if valid else ""
    decision = next((d for d in reversed(standing.decisions) if not d.overturned), None)
    answer: dict[str, Any] = {
        "name": facts.name or None,
        "date_of_birth": facts.date_of_birth.isoformat(),
        "nationality": facts.nationality or None,
        "photo_ref": facts.photo_ref or None,
        "postcode": facts.postcode or None,
        "status": str(status.kind) if status is not None else "none",
        "may_work": ("yes_with_conditions" if conditions else "yes") if holds["may_work"] else "no",
        "work_conditions": conditions,
        "may_rent": holds["may_rent"],
        "lawfully_resident": holds["lawfully_resident"],
        "public_funds": holds["public_funds"],
        "exempt_from_charges": holds["exempt_from_charges"],
        "valid_until": status.valid_to.isoformat() if valid and status.valid_to else None,
        "decision": {"type": str(decision.type), "decided_on": decision.decided_on.isoformat()}
        if decision is not None
        else None,
    }
    if holds[rule.confirmed_by]:
        outcome = CONFIRMED
    elif appeal_state_of(standing.decisions) in (AppealState.LODGED, AppealState.PENDING):
        # Leave may continue while an appeal is open: a caseworker must look, not the machine.
        outcome = REFERRED
    else:
        outcome = NOT_CONFIRMED
    refs = ([str(status.id)] if status is not None else []) + (
        [str(decision.id)] if decision is not None else []
    )
    return StatusAnswer(answer, outcome, refs)

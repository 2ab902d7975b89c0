"""A person's record in the API's shape (shared by the API and the CLI)."""

from __future__ import annotations

from shareguard.status.models import Person
from shareguard.status.schemas import DecisionOut, PersonDetailOut, PersonOut, StatusOut
from shareguard.status.service import StatusService


def person_detail(svc: StatusService, person: Person) -> PersonDetailOut:
    current = svc.current_status(person.id)
    statuses = [StatusOut.model_validate(r) for r in svc.status_history(person.id)]
    for s in statuses:
        s.current = current is not None and s.id == current.id
    live = {d.id for d in svc.current_decisions(person.id)}
    decisions = [DecisionOut.model_validate(d) for d in svc.decisions(person.id)]
    for d in decisions:
        d.current = d.id in live
    base = PersonOut.model_validate(person).model_dump()
    return PersonDetailOut(
        **base,
        current_status=next((s for s in statuses if s.current), None),
        statuses=statuses,
        decisions=decisions,
    )

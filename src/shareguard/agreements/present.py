"""Turn agreement rows into API shapes (shared by the API, CLI and console)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.agreements.direction import direction_of, operator_ids
from shareguard.agreements.models import Agreement
from shareguard.agreements.schemas import AgreementOut, EventOut, PartyOut
from shareguard.storage.base import today


def agreement_out(
    session: Session, a: Agreement, operators: frozenset[uuid.UUID] | None = None
) -> AgreementOut:
    """The API shape; pass ``operators`` (``operator_ids``) when presenting many agreements."""
    on = today()
    if operators is None:
        operators = operator_ids(session)
    parties = []
    for p in a.parties:
        org = session.get(Organisation, p.organisation_id)
        parties.append(
            PartyOut(
                organisation_id=p.organisation_id,
                organisation=org.name if org else "?",
                role=p.role,
                controller_role=p.controller_role,
            )
        )
    data = {c: getattr(a, c) for c in AgreementOut.model_fields if hasattr(a, c)}
    data.update(
        parties=parties,
        events=[
            EventOut(
                action=e.action,
                from_state=e.from_state,
                to_state=e.to_state,
                actor_id=e.actor_id,
                reason=e.reason,
                at=e.at,
            )
            for e in a.events
        ],
        review_lapsed=a.review_lapsed(on),
        direction=direction_of(a.disclosers(), a.recipients(), operators),
        disclosers=[p.organisation for p in parties if p.role == "discloser"],
        recipients=[p.organisation for p in parties if p.role == "recipient"],
        in_force=a.in_force(on),
    )
    return AgreementOut(**data)

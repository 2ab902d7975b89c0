"""Who may use matching, and under which agreement: the checks the import, run and review
services share (each refuses before it writes anything)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.errors import Forbidden, NotFound, Refused
from shareguard.matching.models import MatchRun
from shareguard.storage.base import today

STAFF = ("governance_officer", "caseworker")
REVIEWER = "reviewer"


def agreement(session: Session, agreement_id: uuid.UUID) -> Agreement:
    """The agreement a request names. Raises NotFound."""
    found = session.get(Agreement, agreement_id)
    if found is None:
        raise NotFound(f"agreement {agreement_id} not found")
    return found


def require_usable(agreement: Agreement) -> None:
    """Refuse unless the agreement allows bulk matching and is in force today."""
    if not agreement.bulk:
        raise Refused("this agreement does not allow bulk matching", field="agreement_id")
    if not agreement.in_force(today()):
        raise Refused(
            "this agreement is not in force (active, signed off, within its dates and review)",
            field="agreement_id",
        )


def require_supplier(principal: Principal, agreement: Agreement) -> None:
    """Staff, or a party receiving under the agreement, may supply its dataset; else Forbidden."""
    if principal.has(*STAFF):
        return
    if principal.organisation_id in agreement.recipients():
        return
    raise Forbidden("only a party receiving under this agreement may supply its dataset")


def may_see_run(session: Session, principal: Principal, run: MatchRun) -> bool:
    """Staff, reviewers and auditors see every run; a partner only its agreements' runs."""
    if principal.has(*STAFF, REVIEWER, "auditor"):
        return True
    found = session.get(Agreement, run.agreement_id)
    return found is not None and principal.organisation_id in found.recipients()

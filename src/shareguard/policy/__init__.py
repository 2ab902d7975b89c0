"""The one door: every disclosure is decided by Cedar policies, minimised and audited.

    from shareguard.policy import DisclosureRequest, Subject, decide, disclose
    out = disclose(session, DisclosureRequest(principal, "check", agreement_id, purpose,
                                              items, subject), answer, kind="check_answer")
    # the boundary commits: the answer, its Disclosure row and its audit entry, together

Agreements compile to permit policies, firewall rules and pauses to forbid policies (forbid
wins). See docs/policy.md.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.agreements.service import on_change
from shareguard.policy.door import (
    DISCLOSURE_KINDS,
    agreement_for,
    bump,
    decide,
    decide_many,
    decide_subjects,
    disclose,
    disclose_many,
    minimise,
)
from shareguard.policy.service import activation_warnings
from shareguard.policy.types import Decision, Disclosed, DisclosureRequest, Subject

__all__ = [
    "DISCLOSURE_KINDS",
    "Decision",
    "Disclosed",
    "DisclosureRequest",
    "Subject",
    "agreement_for",
    "decide",
    "decide_many",
    "decide_subjects",
    "disclose",
    "disclose_many",
    "minimise",
]

log = logging.getLogger("shareguard.policy")


@on_change
def _agreement_changed(
    session: Session, agreement: Agreement, action: str, principal: Principal
) -> None:
    bump(session)
    if action == "activate":
        warnings = activation_warnings(session, agreement)
        for w in warnings:
            log.warning("agreement %s: %s", agreement.reference, w)
        session.info.setdefault("policy_warnings", {})[agreement.id] = warnings

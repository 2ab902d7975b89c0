"""The tamper-evident audit log: an RFC 9162 Merkle tree of decisions and disclosures.

Callers record inside their own transaction (no lock; the integrator gives the entry its
place in the tree after the transaction commits, see ``audit.integrator``)::

    from shareguard.audit import AuditRecord, append, payload_hash
    append(session, AuditRecord(action="check.share_code", ..., payload_hash=payload_hash(answer)))

The entry commits (or rolls back) with the caller's changes. Every agreement lifecycle change
is recorded here too, as ``agreement.<action>``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.agreements.service import on_change
from shareguard.audit.log import (
    Appended,
    AuditRecord,
    StoredTree,
    append,
    append_many,
    payload_hash,
)
from shareguard.audit.models import AuditCheckpoint, AuditEntry, AuditExemption

__all__ = [
    "Appended",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditExemption",
    "AuditRecord",
    "StoredTree",
    "append",
    "append_many",
    "payload_hash",
]


@on_change
def _audit_agreement_change(
    session: Session, agreement: Agreement, action: str, principal: Principal
) -> None:
    # Reference and state are register facts, not personal data.
    append(
        session,
        AuditRecord(
            action=f"agreement.{action}",
            actor_org_id=principal.organisation_id,
            actor_user_id=principal.user_id,
            agreement_id=agreement.id,
            details={"reference": agreement.reference, "state": agreement.state},
        ),
    )

"""Turn exchange rows into API shapes (shared by the API, CLI and console)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.exchange.models import ExchangeRequest, InboundBatch, InboundRecord
from shareguard.exchange.schemas import BatchOut, InboundRecordOut, RequestOut
from shareguard.exchange.service import STAFF, RequestService


def _name(session: Session, org_id: uuid.UUID | None) -> str | None:
    org = session.get(Organisation, org_id) if org_id else None
    return org.name if org else None


def _ref(session: Session, agreement_id: uuid.UUID) -> str:
    a = session.get(Agreement, agreement_id)
    return a.reference if a else "?"


def request_out(session: Session, row: ExchangeRequest, principal: Principal) -> RequestOut:
    """Staff see everything; the partner sees the person's identifiers while the request is
    open, and never the person's id in the register or the answer once given."""
    staff = principal.has(*STAFF)
    person = None
    if row.state == "open" or staff:
        person = RequestService(session).identifiers(row)
    return RequestOut(
        id=row.id,
        reference=row.reference,
        agreement_id=row.agreement_id,
        agreement=_ref(session, row.agreement_id),
        purpose=row.purpose,
        requester=_name(session, row.requester_org_id),
        partner=_name(session, row.partner_org_id) or "?",
        person_id=row.person_id if staff else None,
        person=person,
        data_items=list(row.data_items),
        reason=row.reason,
        proportionality=row.proportionality,
        state=row.state,
        decision_kind=row.decision_kind,
        decision_reason=row.decision_reason,
        created_at=row.created_at,
        deadline=row.deadline,
        reminded_at=row.reminded_at,
        escalated_at=row.escalated_at,
        answered_at=row.answered_at,
        answer=row.answer if staff else None,
        dropped=list(row.dropped or ()),
        answer_note=row.answer_note,
    )


def record_out(session: Session, row: InboundRecord, principal: Principal) -> InboundRecordOut:
    staff = principal.has(*STAFF)
    return InboundRecordOut(
        id=row.id,
        batch_id=row.batch_id,
        agreement_id=row.agreement_id,
        agreement=_ref(session, row.agreement_id),
        discloser=_name(session, row.discloser_org_id) or "?",
        recipient=_name(session, row.recipient_org_id),
        partner_record_id=row.partner_record_id,
        line=row.line,
        person_id=row.person_id if staff else None,
        data=row.data if staff else None,
        dropped=list(row.dropped or ()),
        findings=list(row.findings or ()),
        state=row.state,
        note=row.note if staff else "",
        created_at=row.created_at,
    )


def batch_out(session: Session, row: InboundBatch) -> BatchOut:
    return BatchOut(
        id=row.id,
        reference=row.reference,
        agreement_id=row.agreement_id,
        agreement=_ref(session, row.agreement_id),
        discloser=_name(session, row.discloser_org_id) or "?",
        source=row.source,
        file_name=row.file_name,
        mode=row.mode,
        rows=row.rows,
        accepted=row.accepted,
        refused=row.refused,
        quarantined=row.quarantined,
        refusals=dict(row.refusals or {}),
        errors=list(row.errors or ()),
        created_at=row.created_at,
    )

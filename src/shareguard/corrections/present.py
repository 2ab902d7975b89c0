"""Model -> API shapes for corrections and notices."""

from __future__ import annotations

from sqlalchemy.orm import Session, object_session

from shareguard.accounts.models import Organisation
from shareguard.corrections.models import Correction, RectificationNotice
from shareguard.corrections.notices import NoticeService
from shareguard.corrections.schemas import CorrectionOut, NoticeOut
from shareguard.storage.base import utcnow


def correction_out(session: Session, c: Correction) -> CorrectionOut:
    out = CorrectionOut.model_validate(c)
    out.notices = len(NoticeService(session).notices_of(c.id))
    return out


def notice_out(n: RectificationNotice) -> NoticeOut:
    out = NoticeOut.model_validate(n)
    session = object_session(n)
    org = session.get(Organisation, n.organisation_id) if session is not None else None
    out.organisation = org.name if org is not None else ""
    out.overdue = n.acknowledged_at is None and n.deadline < utcnow()
    return out

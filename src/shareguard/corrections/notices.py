"""Rectification notices after a correction: what recipients list, read and acknowledge, the
escalation of overdue ones to the governance officer, and what the person is told.

Notices are written by ``CorrectionService`` when a correction is applied (in the same unit of
work); this module only reads them, acknowledges them and escalates them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.accounts.principal import Principal
from shareguard.audit import AuditRecord, append
from shareguard.corrections.models import Correction, PersonNotice, RectificationNotice
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.storage.base import utcnow

CASEWORKER = "caseworker"
OFFICER = "governance_officer"


class NoticeService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def notices_of(self, correction_id: uuid.UUID) -> list[RectificationNotice]:
        stmt = select(RectificationNotice).where(RectificationNotice.correction_id == correction_id)
        return list(self.session.scalars(stmt.order_by(RectificationNotice.reference)))

    # recipients' notices -----------------------------------------------------------------------
    def notices(
        self,
        principal: Principal,
        *,
        organisation_id: uuid.UUID | None = None,
        open_only: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[RectificationNotice]:
        """A recipient's own notices; staff see every organisation's (optionally one)."""
        stmt = select(RectificationNotice).where(
            *self._notice_filter(principal, organisation_id, open_only)
        )
        stmt = stmt.order_by(RectificationNotice.created_at.desc(), RectificationNotice.id.desc())
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def count_notices(
        self,
        principal: Principal,
        *,
        organisation_id: uuid.UUID | None = None,
        open_only: bool = False,
    ) -> int:
        """How many notices ``notices`` pages through (a count query; never capped)."""
        stmt = select(func.count()).select_from(RectificationNotice)
        stmt = stmt.where(*self._notice_filter(principal, organisation_id, open_only))
        return int(self.session.scalar(stmt) or 0)

    def _notice_filter(
        self, principal: Principal, organisation_id: uuid.UUID | None, open_only: bool
    ) -> list[Any]:
        where: list[Any] = []
        if principal.has(OFFICER, CASEWORKER, "auditor", "system"):
            if organisation_id is not None:
                where.append(RectificationNotice.organisation_id == organisation_id)
        elif principal.organisation_id is not None:
            where.append(RectificationNotice.organisation_id == principal.organisation_id)
        else:
            raise Forbidden("only a recipient organisation or staff may list notices")
        if open_only:
            where.append(RectificationNotice.acknowledged_at.is_(None))
        return where

    def notice(self, notice_id: uuid.UUID, principal: Principal) -> RectificationNotice:
        """One notice; another organisation's is NotFound (its existence is not revealed)."""
        row = self.session.get(RectificationNotice, notice_id)
        staff = principal.has(OFFICER, CASEWORKER, "auditor", "system")
        if row is None or (not staff and row.organisation_id != principal.organisation_id):
            raise NotFound(f"notice {notice_id} not found")
        return row

    def acknowledge(
        self, notice_id: uuid.UUID, principal: Principal, note: str = ""
    ) -> RectificationNotice:
        """The recipient confirms it has acted; once only, and only its own notice."""
        row = self.session.get(RectificationNotice, notice_id)
        if row is None or row.organisation_id != principal.organisation_id:
            raise NotFound(f"notice {notice_id} not found")
        if row.acknowledged_at is not None:
            raise Conflict("this notice has already been acknowledged")
        if len(note) > 2000:
            raise InvalidInput("note is longer than 2000 characters", field="note")
        row.acknowledged_at = utcnow()
        row.acknowledged_by_user = principal.user_id
        row.acknowledged_by_key = principal.api_key_id
        row.acknowledgement_note = note.strip()
        append(
            self.session,
            AuditRecord(
                action="correction.acknowledge",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=_first_uuid(row.agreement_ids),
                decision=None,
                details={"notice": str(row.id), "reference": row.reference},
            ),
        )
        return row

    def escalate_overdue(self, *, now: datetime | None = None) -> list[RectificationNotice]:
        """Flag every unacknowledged notice past its deadline for the governance officer."""
        now = now or utcnow()
        stmt = select(RectificationNotice).where(
            RectificationNotice.acknowledged_at.is_(None),
            RectificationNotice.escalated_at.is_(None),
            RectificationNotice.deadline < now,
        )
        rows = list(self.session.scalars(stmt.order_by(RectificationNotice.deadline)))
        for row in rows:
            row.escalated_at = now
            append(
                self.session,
                AuditRecord(
                    action="correction.escalate",
                    agreement_id=_first_uuid(row.agreement_ids),
                    details={
                        "notice": str(row.id),
                        "reference": row.reference,
                        "organisation": str(row.organisation_id),
                    },
                ),
            )
        self.session.flush()
        return rows

    def escalations(self, principal: Principal) -> list[RectificationNotice]:
        """Escalated notices still unacknowledged: the governance officer's list."""
        principal.require(OFFICER, "auditor", "system")
        stmt = select(RectificationNotice).where(
            RectificationNotice.escalated_at.is_not(None),
            RectificationNotice.acknowledged_at.is_(None),
        )
        return list(self.session.scalars(stmt.order_by(RectificationNotice.deadline)))

    # the person --------------------------------------------------------------------
    def person_notices(self, person_id: uuid.UUID, principal: Principal) -> list[PersonNotice]:
        self._may_see_person(person_id, principal)
        stmt = select(PersonNotice).where(PersonNotice.person_id == person_id)
        return list(self.session.scalars(stmt.order_by(PersonNotice.created_at)))

    def recipients_told(self, person_id: uuid.UUID, principal: Principal) -> list[dict[str, Any]]:
        """Which organisations were sent a notice about the person's corrections, and when."""
        self._may_see_person(person_id, principal)
        stmt = (
            select(RectificationNotice, Organisation.name, Correction.created_at)
            .join(Correction, Correction.id == RectificationNotice.correction_id)
            .join(Organisation, Organisation.id == RectificationNotice.organisation_id)
            .where(Correction.person_id == person_id)
            .order_by(RectificationNotice.created_at, Organisation.name)
        )
        return [
            {
                "correction_id": str(n.correction_id),
                "notice_reference": n.reference,
                "organisation": name,
                "sent_at": n.created_at,
                "acknowledged_at": n.acknowledged_at,
            }
            for n, name, _ in self.session.execute(stmt)
        ]

    # internals ---------------------------------------------------------------------
    def _may_see_person(self, person_id: uuid.UUID, principal: Principal) -> None:
        if principal.person_id == person_id or principal.has(CASEWORKER, OFFICER, "system"):
            return
        raise Forbidden("only the person, or a caseworker helping them, may see this")


def notice_payload(notice: RectificationNotice) -> dict[str, Any]:
    """What a recipient receives, by webhook or pull: references, never personal data."""
    return {
        "type": "rectification_notice",
        "id": str(notice.id),
        "reference": notice.reference,
        "correction_id": str(notice.correction_id),
        "organisation_id": str(notice.organisation_id),
        "agreement_ids": list(notice.agreement_ids),
        "disclosure_ids": list(notice.disclosure_ids),
        "disclosure_kinds": list(notice.disclosure_kinds),
        "what_changed": notice.what_changed,
        "expected_action": notice.expected_action,
        "deadline": notice.deadline.isoformat(),
        "created_at": notice.created_at.isoformat() if notice.created_at else None,
        "acknowledge": f"/api/v1/notices/{notice.id}/acknowledge",
    }


def _first_uuid(values: Sequence[str]) -> uuid.UUID | None:
    return uuid.UUID(values[0]) if values else None

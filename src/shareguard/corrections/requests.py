"""A person's request to correct their record (UK GDPR Art 16), answered by a caseworker.

The request opens work for a caseworker with a one-month deadline (Art 12(3)); the
caseworker answers it and, where the record is wrong, makes a correction, which sends
rectification notices to every recipient. The person's own words are stored, never logged.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.audit import AuditRecord, append
from shareguard.corrections.models import CorrectionRequest
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.status import StatusService
from shareguard.storage.base import today, utcnow

RESPONSE_DAYS = 30
MAX_TEXT = 2000
OUTCOMES = ("corrected", "no_change", "partly_corrected")


class CorrectionRequestService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def request(
        self,
        person_id: uuid.UUID,
        principal: Principal,
        what_is_wrong: str,
        correct_value: str = "",
    ) -> CorrectionRequest:
        """Record the person's request. Only the person, or a caseworker for them, may ask."""
        if principal.person_id != person_id and not principal.has("caseworker"):
            raise Forbidden("only the person, or a caseworker for them, may ask for a correction")
        StatusService(self.session).person(person_id)  # NotFound: no such person
        what = what_is_wrong.strip()
        if not what:
            raise InvalidInput("say what is wrong in your record", field="what_is_wrong")
        if len(what) > MAX_TEXT or len(correct_value) > MAX_TEXT:
            raise InvalidInput(f"use at most {MAX_TEXT} characters", field="what_is_wrong")
        row = CorrectionRequest(
            person_id=person_id,
            what_is_wrong=what,
            correct_value=correct_value.strip(),
            respond_by=today() + timedelta(days=RESPONSE_DAYS),
        )
        self.session.add(row)
        self.session.flush()
        append(
            self.session,
            AuditRecord(
                action="correction.request",
                actor_user_id=principal.user_id,
                subject_ref=str(person_id),
                details={"request_id": str(row.id)},
            ),
        )
        self.session.flush()
        return row

    def for_person(self, person_id: uuid.UUID, principal: Principal) -> list[CorrectionRequest]:
        if principal.person_id != person_id and not principal.has("caseworker", "auditor"):
            raise Forbidden("only the person or a caseworker may see these requests")
        stmt = (
            select(CorrectionRequest)
            .where(CorrectionRequest.person_id == person_id)
            .order_by(CorrectionRequest.opened_at.desc())
        )
        return list(self.session.scalars(stmt))

    def open_requests(self, principal: Principal) -> list[CorrectionRequest]:
        principal.require("caseworker")
        stmt = (
            select(CorrectionRequest)
            .where(CorrectionRequest.state == "open")
            .order_by(CorrectionRequest.respond_by)
        )
        return list(self.session.scalars(stmt))

    def close(
        self, request_id: uuid.UUID, principal: Principal, outcome: str, response: str
    ) -> CorrectionRequest:
        """Answer a request; the response is what the person reads."""
        principal.require("caseworker")
        row = self.session.get(CorrectionRequest, request_id)
        if row is None:
            raise NotFound(f"correction request {request_id} not found")
        if row.state != "open":
            raise Conflict("this request has already been answered", field="state")
        if outcome not in OUTCOMES:
            raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
        if not response.strip():
            raise InvalidInput("write the answer the person will read", field="response")
        row.state, row.outcome, row.response = "closed", outcome, response.strip()
        row.closed_at, row.closed_by = utcnow(), principal.user_id
        append(
            self.session,
            AuditRecord(
                action="correction.request.close",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                subject_ref=str(row.person_id),
                details={"request_id": str(row.id), "outcome": outcome},
            ),
        )
        self.session.flush()
        return row

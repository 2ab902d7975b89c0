"""Requests to partners: the door decides before the partner sees anything, and again on the
answer, which is minimised to the agreement's data items.

A caseworker asks a partner (the agreement's discloser) for named data items about one
person, with a reason. The request passes the one door as action ``request`` (agreement
state and direction, firewall, pauses, the person's locks, daily limits); a refusal is
audited, kept with its plain-English reason for officers, and never reaches the partner. A
permitted request joins the partner's queue (``GET /api/v1/requests``, the console inbox and,
where the partner has one, an HMAC-signed webhook). The partner answers with data, "not
held" or a refusal with its reason; data passes the door again as action ``answer`` and is
minimised, the dropped field names going into the audit entry. Deadlines, reminders and
escalation work as rectification notices do. Services never commit: the boundary does.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.accounts.principal import Principal
from shareguard.agreements import unknown_agreement
from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.models import Agreement
from shareguard.audit import AuditRecord, append
from shareguard.corrections import webhooks
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound, Refused, keep_audit
from shareguard.exchange.models import (
    DeliveryState,
    ExchangeRequest,
    RequestDelivery,
    RequestState,
)
from shareguard.policy import DisclosureRequest, disclose
from shareguard.status import StatusService, subject_for
from shareguard.storage.base import utcnow

CASEWORKER = "caseworker"
OFFICER = "governance_officer"
STAFF = (CASEWORKER, OFFICER, "auditor", "reviewer", "system")
DEFAULT_DEADLINE_DAYS = 10
#: A reminder goes to the partner this long before the deadline.
REMIND_BEFORE = timedelta(days=2)
MAX_TEXT = 2000
MAX_VALUE = 1000
ANSWER_OUTCOMES = ("data", "not_held", "refused")


def resolve_agreement(
    session: Session, ref: str | uuid.UUID, field: str = "agreement"
) -> Agreement:
    """An agreement by id or reference; InvalidInput naming ``field`` when there is none."""
    found = None
    text = str(ref).strip()
    try:
        found = session.get(Agreement, uuid.UUID(text))
    except ValueError:
        found = session.scalar(select(Agreement).where(Agreement.reference == text))
    if found is None:
        raise InvalidInput(unknown_agreement(text, "no agreement '{}'"), field=field)
    return found


def organisation(session: Session, name_or_id: str, field: str) -> Organisation:
    org = None
    try:
        org = session.get(Organisation, uuid.UUID(str(name_or_id)))
    except ValueError:
        org = session.scalar(select(Organisation).where(Organisation.name == name_or_id))
    if org is None:
        raise InvalidInput("no organisation with this name or id", field=field)
    return org


def check_items(items: Sequence[str], field: str = "data_items") -> tuple[str, ...]:
    for i, item in enumerate(items):
        if item not in DATA_ITEMS:
            raise InvalidInput(f"unknown data item '{str(item)[:40]}'", field=f"{field}[{i}]")
    return tuple(dict.fromkeys(items))


def _reference(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


class RequestService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # asking ------------------------------------------------------------------------
    def create(
        self,
        principal: Principal,
        *,
        agreement: str | uuid.UUID,
        person_id: uuid.UUID,
        reason: str,
        data_items: Sequence[str] = (),
        purpose: str | None = None,
        proportionality: str = "",
        partner: str | None = None,
        deadline_days: int = DEFAULT_DEADLINE_DAYS,
        now: datetime | None = None,
    ) -> ExchangeRequest:
        """Ask a partner for data items about a person; the door decides first.

        Raises InvalidInput (nothing written) for a missing reason, an unknown agreement,
        purpose, data item or person, or an agreement that does not run towards the asker.
        A refusal by the door (paused or ended agreement, firewall, pause, lock, daily limit)
        is audited and kept, and raised as Refused through ``keep_audit``.
        """
        principal.require(CASEWORKER)
        if principal.organisation_id is None:
            raise Forbidden("a request is made by a named caseworker of an organisation")
        if not reason or not reason.strip():
            raise InvalidInput("say why you need this information", field="reason")
        if len(reason) > MAX_TEXT:
            raise InvalidInput(f"reason is longer than {MAX_TEXT} characters", field="reason")
        if len(proportionality) > MAX_TEXT:
            raise InvalidInput(
                f"proportionality note is longer than {MAX_TEXT} characters",
                field="proportionality",
            )
        if not 1 <= deadline_days <= 90:
            raise InvalidInput("deadline_days must be between 1 and 90", field="deadline_days")
        found = resolve_agreement(self.session, agreement)
        if principal.organisation_id not in found.recipients():
            raise InvalidInput(
                f"agreement {found.reference} does not let your organisation receive data: "
                "it runs the other way, or your organisation is not a party",
                field="agreement",
            )
        disclosers = found.disclosers()
        if partner:
            partner_org = organisation(self.session, partner, "partner")
            if partner_org.id not in disclosers:
                raise InvalidInput(
                    f"that organisation does not disclose under agreement {found.reference}",
                    field="partner",
                )
            partner_id = partner_org.id
        elif len(disclosers) == 1:
            partner_id = disclosers[0]
        else:
            raise InvalidInput(
                f"agreement {found.reference} has several disclosers: name the partner",
                field="partner",
            )
        code = purpose or (found.purposes[0] if found.purposes else "")
        if code not in PURPOSES:
            raise InvalidInput(f"unknown purpose '{str(code)[:40]}'", field="purpose")
        items = (
            check_items(data_items)
            if data_items
            else tuple(i for i in found.data_items if i in PURPOSES[code].answer_shape)
        )
        if not items:
            raise InvalidInput("name at least one data item to ask for", field="data_items")
        try:
            subject = subject_for(self.session, person_id)
        except NotFound:
            raise InvalidInput("no person with this id", field="person_id") from None
        at = now or utcnow()
        done = disclose(
            self.session,
            DisclosureRequest(
                principal=principal,
                action="request",
                agreement_id=found.id,
                purpose=code,
                data_items=items,
                subject=subject,
                discloser_id=partner_id,
                recipient_id=principal.organisation_id,
                at=at,
            ),
            {},
            kind="request",
        )
        decision = done.decision
        row = ExchangeRequest(
            reference=_reference("RQ"),
            agreement_id=found.id,
            purpose=code,
            requester_org_id=principal.organisation_id,
            requester_user_id=principal.user_id,
            partner_org_id=partner_id,
            person_id=person_id,
            data_items=list(items),
            reason=reason.strip(),
            proportionality=proportionality.strip(),
            state=RequestState.OPEN if decision.allowed else RequestState.REFUSED,
            decision_kind=decision.kind,
            decision_reason=decision.reason,
            request_entry_id=done.audit_entry_id,
            request_disclosure_id=done.disclosure_id,
            deadline=at + timedelta(days=deadline_days) if decision.allowed else None,
            created_at=at,
        )
        self.session.add(row)
        self.session.flush()
        if not decision.allowed:
            raise keep_audit(
                Refused(
                    decision.reason,
                    kind=decision.kind,
                    request_id=str(row.id),
                    reference=row.reference,
                )
            )
        self._queue_delivery(row, "request", at)
        return row

    # reading -----------------------------------------------------------------------
    def get(self, request_id: uuid.UUID, principal: Principal) -> ExchangeRequest:
        """One request: staff see any; a partner only its own, and never a refused one."""
        row = self.session.get(ExchangeRequest, request_id)
        if row is None or not self._may_see(row, principal):
            raise NotFound(f"request {request_id} not found")
        return row

    def by_reference(self, ref: str, principal: Principal) -> ExchangeRequest:
        text = ref.strip()
        try:
            return self.get(uuid.UUID(text), principal)
        except ValueError:
            pass
        row = self.session.scalar(select(ExchangeRequest).where(ExchangeRequest.reference == text))
        if row is None or not self._may_see(row, principal):
            raise NotFound(f"request {text[:40]} not found")
        return row

    def find(
        self,
        principal: Principal,
        *,
        state: str | None = None,
        agreement_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ExchangeRequest]:
        """Requests, newest first. A partner sees its own queue; refused ones never reach it."""
        stmt = select(ExchangeRequest).where(
            *self._filter(principal, state, agreement_id, person_id)
        )
        stmt = stmt.order_by(ExchangeRequest.created_at.desc(), ExchangeRequest.id.desc())
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def count(
        self,
        principal: Principal,
        *,
        state: str | None = None,
        agreement_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None,
    ) -> int:
        """How many requests ``find`` pages through (a count query; never capped)."""
        stmt = select(func.count()).select_from(ExchangeRequest)
        stmt = stmt.where(*self._filter(principal, state, agreement_id, person_id))
        return int(self.session.scalar(stmt) or 0)

    def _filter(
        self,
        principal: Principal,
        state: str | None,
        agreement_id: uuid.UUID | None,
        person_id: uuid.UUID | None,
    ) -> list[Any]:
        if state is not None and state not in set(RequestState):
            raise InvalidInput(f"state must be one of {', '.join(RequestState)}", field="state")
        where: list[Any] = []
        if not principal.has(*STAFF):
            if principal.organisation_id is None:
                raise Forbidden("only a partner organisation or staff may list requests")
            where += [
                ExchangeRequest.partner_org_id == principal.organisation_id,
                ExchangeRequest.state != RequestState.REFUSED,
            ]
        if state:
            where.append(ExchangeRequest.state == state)
        if agreement_id:
            where.append(ExchangeRequest.agreement_id == agreement_id)
        if person_id:
            where.append(ExchangeRequest.person_id == person_id)
        return where

    def identifiers(self, row: ExchangeRequest) -> dict[str, Any]:
        """What the partner is shown to find the person: name and date of birth only."""
        person = StatusService(self.session).person(row.person_id)
        primary = sorted(person.names, key=lambda n: (n.kind != "primary", n.position))
        name = f"{primary[0].given} {primary[0].family}".strip() if primary else ""
        return {"name": name, "date_of_birth": person.date_of_birth.isoformat()}

    # answering ---------------------------------------------------------------------
    def answer(
        self,
        request_id: uuid.UUID,
        principal: Principal,
        *,
        outcome: str,
        data: Mapping[str, Any] | None = None,
        note: str = "",
        now: datetime | None = None,
    ) -> ExchangeRequest:
        """The partner answers: with data (decided and minimised by the door), "not held",
        or a refusal with its reason. Once only; only the partner asked.

        Raises InvalidInput for a bad outcome or data, Conflict if already answered, and
        Refused (kept with its audit entry) when the door refuses the answer.
        """
        row = self.session.get(ExchangeRequest, request_id)
        if row is None or row.partner_org_id != principal.organisation_id:
            raise NotFound(f"request {request_id} not found")
        if row.state != RequestState.OPEN:
            raise Conflict(f"this request is {row.state.replace('_', ' ')}, not open")
        if outcome not in ANSWER_OUTCOMES:
            raise InvalidInput(
                f"outcome must be one of {', '.join(ANSWER_OUTCOMES)}", field="outcome"
            )
        if len(note) > MAX_TEXT:
            raise InvalidInput(f"note is longer than {MAX_TEXT} characters", field="note")
        at = now or utcnow()
        if outcome == "refused" and not note.strip():
            raise InvalidInput("say why you refuse to answer", field="note")
        if outcome != "data":
            if data:
                raise InvalidInput(f"an answer of '{outcome}' carries no data", field="data")
            row.state = RequestState.NOT_HELD if outcome == "not_held" else RequestState.DECLINED
            row.answer_note = note.strip()
            self._answered(row, principal, at)
            entry = append(
                self.session,
                AuditRecord(
                    action=f"exchange.{'not_held' if outcome == 'not_held' else 'decline'}",
                    actor_org_id=principal.organisation_id,
                    actor_user_id=principal.user_id,
                    agreement_id=row.agreement_id,
                    purpose=row.purpose,
                    subject_ref=str(row.person_id),
                    decision=None,
                    details=self._details(row),
                ),
            )
            row.answer_entry_id = entry.id
            return row
        values = _answer_values(data)
        carried = tuple(k for k in values if k in DATA_ITEMS)
        asked = tuple(i for i in row.data_items if i in carried) or tuple(row.data_items)
        done = disclose(
            self.session,
            DisclosureRequest(
                principal=principal,
                action="answer",
                agreement_id=row.agreement_id,
                purpose=row.purpose,
                data_items=asked,
                offered_items=carried,
                subject=subject_for(self.session, row.person_id),
                discloser_id=principal.organisation_id,
                recipient_id=row.requester_org_id,
                at=at,
            ),
            values,
            kind="answer",
        )
        row.answer_entry_id = done.audit_entry_id
        if not done.decision.allowed or done.answer is None:
            row.state = RequestState.ANSWER_REFUSED
            row.decision_kind = done.decision.kind
            row.decision_reason = done.decision.reason
            self._answered(row, principal, at)
            self.session.flush()
            raise keep_audit(
                Refused(
                    f"{done.decision.reason}; nothing you sent was kept",
                    kind=done.decision.kind,
                    request_id=str(row.id),
                )
            )
        if not done.answer:
            # Rolled back by the boundary with the door's record of it: nothing is kept.
            raise InvalidInput(
                "the answer carries none of the data items asked for "
                f"({', '.join(row.data_items)}); answer 'not held' if you hold none",
                field="data",
            )
        row.state = RequestState.ANSWERED
        row.answer = done.answer
        row.dropped = sorted(k for k in values if k not in done.answer)
        row.answer_disclosure_id = done.disclosure_id
        row.answer_note = note.strip()
        self._answered(row, principal, at)
        return row

    def _answered(self, row: ExchangeRequest, principal: Principal, at: datetime) -> None:
        row.answered_at = at
        row.answered_by_user = principal.user_id
        row.answered_by_key = principal.api_key_id

    # deadlines ---------------------------------------------------------------------
    def remind_due(self, *, now: datetime | None = None) -> list[ExchangeRequest]:
        """Remind partners of open requests whose deadline is near (once each)."""
        now = now or utcnow()
        stmt = select(ExchangeRequest).where(
            ExchangeRequest.state == RequestState.OPEN,
            ExchangeRequest.reminded_at.is_(None),
            ExchangeRequest.deadline <= now + REMIND_BEFORE,
            ExchangeRequest.deadline >= now,
        )
        rows = list(self.session.scalars(stmt.order_by(ExchangeRequest.deadline)))
        for row in rows:
            row.reminded_at = now
            self._queue_delivery(row, "reminder", now)
            append(
                self.session,
                AuditRecord(
                    action="exchange.remind",
                    agreement_id=row.agreement_id,
                    details={"request": str(row.id), "reference": row.reference},
                ),
            )
        self.session.flush()
        return rows

    def escalate_overdue(self, *, now: datetime | None = None) -> list[ExchangeRequest]:
        """Flag every open request past its deadline for the governance officer (once each)."""
        now = now or utcnow()
        stmt = select(ExchangeRequest).where(
            ExchangeRequest.state == RequestState.OPEN,
            ExchangeRequest.escalated_at.is_(None),
            ExchangeRequest.deadline < now,
        )
        rows = list(self.session.scalars(stmt.order_by(ExchangeRequest.deadline)))
        for row in rows:
            row.escalated_at = now
            append(
                self.session,
                AuditRecord(
                    action="exchange.escalate",
                    agreement_id=row.agreement_id,
                    details={
                        "request": str(row.id),
                        "reference": row.reference,
                        "partner": str(row.partner_org_id),
                    },
                ),
            )
        self.session.flush()
        return rows

    def escalations(self, principal: Principal) -> list[ExchangeRequest]:
        """Escalated requests still unanswered: the governance officer's list."""
        principal.require(OFFICER, "auditor", "system")
        stmt = select(ExchangeRequest).where(
            ExchangeRequest.escalated_at.is_not(None),
            ExchangeRequest.state == RequestState.OPEN,
        )
        return list(self.session.scalars(stmt.order_by(ExchangeRequest.deadline)))

    # webhooks ----------------------------------------------------------------------
    def _queue_delivery(self, row: ExchangeRequest, event: str, now: datetime) -> None:
        org = self.session.get(Organisation, row.partner_org_id)
        if org is not None and org.webhook_url:
            self.session.add(
                RequestDelivery(
                    request_id=row.id,
                    organisation_id=row.partner_org_id,
                    event=event,
                    next_attempt_at=now,
                )
            )

    def deliveries(self, request_id: uuid.UUID) -> list[RequestDelivery]:
        stmt = select(RequestDelivery).where(RequestDelivery.request_id == request_id)
        return list(self.session.scalars(stmt.order_by(RequestDelivery.created_at)))

    def deliver_webhooks(
        self,
        *,
        client: httpx.Client | None = None,
        now: datetime | None = None,
        limit: int = 100,
        resolver: webhooks.Resolver = socket.getaddrinfo,
    ) -> dict[str, int]:
        """Push every due delivery, signed as rectification notices are; counts by result.

        The caller's boundary commits; a failed push is retried by ``webhooks.backoff``.
        Sent through ``webhooks.post``: the URL is checked again and its host's addresses
        (resolved with ``resolver``) must all be public.
        """
        now = now or utcnow()
        stmt = (
            select(RequestDelivery)
            .where(
                RequestDelivery.state == DeliveryState.PENDING,
                RequestDelivery.next_attempt_at <= now,
            )
            .order_by(RequestDelivery.next_attempt_at)
            .limit(limit)
        )
        counts = {"delivered": 0, "retrying": 0, "failed": 0}
        with webhooks.http_client(client) as http:
            for delivery in self.session.scalars(stmt).all():
                counts[self._attempt(delivery, http, now, resolver)] += 1
        self.session.flush()
        return counts

    def _attempt(
        self,
        delivery: RequestDelivery,
        http: httpx.Client,
        now: datetime,
        resolver: webhooks.Resolver,
    ) -> str:
        org = self.session.get(Organisation, delivery.organisation_id)
        row = self.session.get(ExchangeRequest, delivery.request_id)
        return webhooks.attempt(
            delivery,
            org.webhook_url if org else None,
            org.webhook_secret if org else None,
            request_payload(self.session, row, event=delivery.event) if row else None,
            http,
            now,
            resolver,
        )

    # internals ---------------------------------------------------------------------
    def _may_see(self, row: ExchangeRequest, principal: Principal) -> bool:
        if principal.has(*STAFF):
            return True
        return principal.organisation_id == row.partner_org_id and row.state != RequestState.REFUSED

    def _details(self, row: ExchangeRequest) -> dict[str, Any]:
        return {
            "request": str(row.id),
            "reference": row.reference,
            "discloser": str(row.partner_org_id),
            "recipient": str(row.requester_org_id) if row.requester_org_id else None,
            "data_items": list(row.data_items),
        }


def request_payload(
    session: Session, row: ExchangeRequest, *, event: str = "request"
) -> dict[str, Any]:
    """What a partner's webhook receives: references only, never personal data.

    The partner fetches the request itself (with the person's name and date of birth) from
    ``GET /api/v1/requests/{id}`` with its key.
    """
    agreement = session.get(Agreement, row.agreement_id)
    return {
        "type": "information_request",
        "event": event,
        "id": str(row.id),
        "reference": row.reference,
        "agreement": agreement.reference if agreement else None,
        "purpose": row.purpose,
        "data_items": list(row.data_items),
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "fetch": f"/api/v1/requests/{row.id}",
        "answer": f"/api/v1/requests/{row.id}/answer",
    }


def _answer_values(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The partner's answer as plain values; InvalidInput naming the field at fault."""
    if not data or not isinstance(data, Mapping):
        raise InvalidInput("an answer with data needs at least one field", field="data")
    if len(data) > 100:
        raise InvalidInput("an answer has at most 100 fields", field="data")
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key)
        if not name or len(name) > 60:
            raise InvalidInput("field names are 1 to 60 characters", field="data")
        if isinstance(value, (dict, list)):
            raise InvalidInput(
                "a field's value is text, a number or true/false", field=f"data.{name}"
            )
        if isinstance(value, str) and len(value) > MAX_VALUE:
            raise InvalidInput(
                f"a value is longer than {MAX_VALUE} characters", field=f"data.{name}"
            )
        out[name] = value
    return out

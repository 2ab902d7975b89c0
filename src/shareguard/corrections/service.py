"""Corrections and rectification notices: the only code that writes them.

A correction supersedes the wrong status record or decision through the status service
(history is kept), then finds every disclosure that carried the wrong record (the one door's
``disclosures.record_refs``) and sends one rectification notice per recipient organisation
(UK GDPR Art 19). Recipients pull notices or receive signed webhooks, and acknowledge them;
overdue notices escalate to the governance officer; the person is told.
"""

from __future__ import annotations

import json
import secrets
import socket
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.accounts.principal import Principal
from shareguard.audit import AuditRecord, append
from shareguard.corrections import webhooks
from shareguard.corrections.models import (
    Correction,
    CorrectionState,
    DeliveryState,
    NoticeDisclosure,
    PersonNotice,
    RectificationNotice,
    TargetKind,
    WebhookDelivery,
)
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.storage.base import utcnow

CASEWORKER = "caseworker"
OFFICER = "governance_officer"
DEFAULT_DEADLINE_DAYS = 14
#: Seconds to wait for a recipient's webhook endpoint.
WEBHOOK_TIMEOUT = 10.0
DEFAULT_ACTION = "Withdraw any decision taken on the earlier answer, and check again before acting."

#: Fields a correction may change, per target kind (the rest are copied from the wrong record).
STATUS_FIELDS = (
    "kind",
    "valid_from",
    "valid_to",
    "may_work",
    "work_conditions",
    "may_rent",
    "may_study",
    "public_funds",
)
DECISION_FIELDS = (
    "type",
    "decided_on",
    "outcome",
    "appeal_state",
    "final",
    "appeal_window_end",
    "overturned",
)


@dataclass(frozen=True)
class DisclosureRef:
    """What corrections need from one row of the one door's ``disclosures`` table."""

    id: uuid.UUID
    kind: str
    agreement_id: uuid.UUID | None
    recipient_org_id: uuid.UUID | None
    at: datetime


def disclosures_of(
    session: Session, subject_ref: str, record_ids: Sequence[str]
) -> list[DisclosureRef]:
    """Disclosures about ``subject_ref`` whose ``record_refs`` include one of ``record_ids``."""
    from shareguard.policy.models import Disclosure

    wanted = set(record_ids)
    rows = session.scalars(select(Disclosure).where(Disclosure.subject_ref == subject_ref))
    out = []
    for d in rows:
        if wanted.intersection(str(r) for r in (d.record_refs or ())):
            out.append(
                DisclosureRef(
                    id=d.id,
                    kind=d.kind,
                    agreement_id=d.agreement_id,
                    recipient_org_id=d.recipient_org_id,
                    at=d.at,
                )
            )
    return sorted(out, key=lambda r: (r.at, str(r.id)))


def adverse_actions_standing(
    session: Session, person_id: uuid.UUID, record_id: uuid.UUID | None = None
) -> int:
    """Adverse actions taken on disclosures about the person (that carried ``record_id``,
    when given) which no rectification notice has yet withdrawn."""
    from shareguard.matching.models import AdverseAction, Candidate

    stmt = (
        select(Candidate.disclosure_id)
        .join(AdverseAction, AdverseAction.candidate_id == Candidate.id)
        .where(Candidate.person_id == person_id)
    )
    stmt = stmt.where(~withdrawn(Candidate.disclosure_id))
    acted_on = [str(d) for d in session.scalars(stmt) if d]
    if not acted_on:
        return 0
    if record_id is not None:
        carried = {str(r.id) for r in disclosures_of(session, str(person_id), [str(record_id)])}
        acted_on = [d for d in acted_on if d in carried]
    return len(acted_on)


def withdrawn(disclosure_id: Any) -> Any:
    """SQL: a rectification notice has withdrawn this disclosure (an indexed EXISTS)."""
    return (
        select(NoticeDisclosure.notice_id)
        .where(NoticeDisclosure.disclosure_id == disclosure_id)
        .exists()
    )


def withdrawn_disclosures(session: Session) -> set[str]:
    """Ids of every disclosure a rectification notice has withdrawn (its data was wrong).

    Reads every notice: for small worlds and as the reports' reference counting; ask
    ``withdrawn(column)`` in SQL instead where the number of notices can grow.
    """
    out: set[str] = set()
    for ids in session.scalars(select(RectificationNotice.disclosure_ids)):
        out.update(ids or ())
    return out


@contextmanager
def _http(client: httpx.Client | None) -> Iterator[httpx.Client]:
    """The caller's HTTP client, or one of our own closed afterwards."""
    if client is not None:
        yield client
        return
    with httpx.Client(timeout=WEBHOOK_TIMEOUT) as own:
        yield own


def _label(kind: str) -> str:
    return "status record" if kind == TargetKind.STATUS_RECORD else "immigration decision"


class CorrectionService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # corrections -------------------------------------------------------------------
    def correct(
        self,
        principal: Principal,
        *,
        target_kind: str,
        target_id: uuid.UUID,
        reason: str,
        evidence_ref: str,
        changes: Mapping[str, Any],
        expected_action: str = "",
        deadline_days: int = DEFAULT_DEADLINE_DAYS,
        lifts_adverse_action: bool = False,
        now: datetime | None = None,
    ) -> Correction:
        """Correct a status record or decision; notices go out at once unless approval is due.

        A correction that lifts an adverse action waits for a second caseworker
        (``approve``). Raises InvalidInput for a missing reason or evidence, an unknown field
        or an invalid value, Conflict if the record was already superseded; nothing is
        written then.
        """
        principal.require(CASEWORKER)
        if target_kind not in set(TargetKind):
            raise InvalidInput("target must be status_record or decision", field="target_kind")
        if not reason or not reason.strip():
            raise InvalidInput("a correction needs a reason", field="reason")
        if not evidence_ref or not evidence_ref.strip():
            raise InvalidInput("a correction needs evidence (a reference)", field="evidence_ref")
        if not 1 <= deadline_days <= 90:
            raise InvalidInput("deadline_days must be between 1 and 90", field="deadline_days")
        if not changes:
            raise InvalidInput("a correction must change at least one field", field="changes")
        old = self._target(target_kind, target_id)
        self._new_record_data(target_kind, old, dict(changes), evidence_ref)  # validates only
        if self._superseded(target_kind, old.id):
            raise Conflict(f"that {_label(target_kind)} has already been superseded")
        pending = select(Correction.id).where(
            Correction.target_id == old.id,
            Correction.state == CorrectionState.PENDING_APPROVAL,
        )
        if self.session.scalar(pending.limit(1)) is not None:
            raise Conflict(f"a correction of that {_label(target_kind)} is awaiting approval")
        standing = adverse_actions_standing(self.session, old.person_id, old.id)
        lifts = lifts_adverse_action or standing > 0
        correction = Correction(
            person_id=old.person_id,
            target_kind=target_kind,
            target_id=old.id,
            changes=_jsonable(changes),
            reason=reason.strip(),
            evidence_ref=evidence_ref.strip(),
            expected_action=expected_action.strip() or DEFAULT_ACTION,
            deadline_days=deadline_days,
            lifts_adverse_action=lifts,
            state=CorrectionState.PENDING_APPROVAL if lifts else CorrectionState.APPLIED,
            requested_by=principal.user_id,
        )
        self.session.add(correction)
        self.session.flush()
        self._audit("correction.request", principal, correction)
        if lifts:
            return correction
        return self._apply(correction, principal, now)

    def approve(
        self, correction_id: uuid.UUID, principal: Principal, *, now: datetime | None = None
    ) -> Correction:
        """A second caseworker approves a pending correction; it is then applied."""
        principal.require(CASEWORKER)
        correction = self.get(correction_id, principal)
        if correction.state != CorrectionState.PENDING_APPROVAL:
            raise Conflict("this correction is not waiting for approval")
        if principal.user_id is None or principal.user_id == correction.requested_by:
            raise Forbidden("a second caseworker, not the one who asked, must approve")
        correction.approved_by = principal.user_id
        correction.approved_at = utcnow()
        correction.state = CorrectionState.APPLIED
        self._audit("correction.approve", principal, correction)
        return self._apply(correction, principal, now)

    def reject(self, correction_id: uuid.UUID, principal: Principal, reason: str) -> Correction:
        """A second caseworker rejects a pending correction; nothing is superseded."""
        principal.require(CASEWORKER)
        if not reason.strip():
            raise InvalidInput("a rejection needs a reason", field="reason")
        correction = self.get(correction_id, principal)
        if correction.state != CorrectionState.PENDING_APPROVAL:
            raise Conflict("this correction is not waiting for approval")
        if principal.user_id == correction.requested_by:
            raise Forbidden("a second caseworker, not the one who asked, must decide")
        correction.state = CorrectionState.REJECTED
        correction.approved_by = principal.user_id
        correction.approved_at = utcnow()
        self._audit("correction.reject", principal, correction)
        self.session.flush()
        return correction

    def get(self, correction_id: uuid.UUID, principal: Principal) -> Correction:
        principal.require(CASEWORKER, OFFICER, "auditor", "system")
        row = self.session.get(Correction, correction_id)
        if row is None:
            raise NotFound(f"correction {correction_id} not found")
        return row

    def corrections(
        self, principal: Principal, *, state: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Correction]:
        principal.require(CASEWORKER, OFFICER, "auditor", "system")
        stmt = select(Correction).order_by(Correction.created_at.desc(), Correction.id.desc())
        if state:
            stmt = stmt.where(Correction.state == state)
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def notices_of(self, correction_id: uuid.UUID) -> list[RectificationNotice]:
        stmt = select(RectificationNotice).where(RectificationNotice.correction_id == correction_id)
        return list(self.session.scalars(stmt.order_by(RectificationNotice.reference)))

    # notices -----------------------------------------------------------------------
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

    # webhooks ----------------------------------------------------------------------
    def set_webhook(
        self, organisation_id: uuid.UUID, url: str | None, principal: Principal
    ) -> str | None:
        """Set (or clear) where an organisation's notices go; returns the new secret once."""
        if not (principal.has(OFFICER, "system") or principal.organisation_id == organisation_id):
            raise Forbidden("only the organisation itself or a governance officer sets its webhook")
        org = self.session.get(Organisation, organisation_id)
        if org is None:
            raise NotFound(f"organisation {organisation_id} not found")
        if url is not None:
            try:
                webhooks.check_url(url)
            except ValueError as exc:
                raise InvalidInput(str(exc), field="url") from None
        org.webhook_url = url
        org.webhook_secret = secrets.token_urlsafe(32) if url else None
        host = webhooks.check_url(url).host if url else None
        append(
            self.session,
            AuditRecord(
                action="webhook.set",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                details={"organisation_id": str(organisation_id), "host": host},
            ),
        )
        return org.webhook_secret

    def deliver_webhooks(
        self,
        *,
        client: httpx.Client | None = None,
        now: datetime | None = None,
        limit: int = 100,
        resolver: webhooks.Resolver = socket.getaddrinfo,
    ) -> dict[str, int]:
        """Try every delivery that is due; returns counts of delivered, retrying and failed.

        All in the caller's unit of work. The scheduled job and ``shareguard corrections
        deliver`` give each delivery its own instead (``deliver_next``), so a slow recipient
        cannot hold others' results back. A non-2xx answer or a network error schedules the
        next try by ``webhooks.backoff``; after ``webhooks.MAX_ATTEMPTS`` the delivery fails
        (the pull endpoint still works). The URL is checked again and its host resolved with
        ``resolver``: every address must be public, and the request goes to the checked
        address (no redirects followed).
        """
        now = now or utcnow()
        counts = {"delivered": 0, "retrying": 0, "failed": 0}
        with _http(client) as http:
            for _ in range(limit):
                outcome = self.deliver_next(client=http, now=now, resolver=resolver)
                if outcome is None:
                    break
                counts[outcome] += 1
        return counts

    def deliver_next(
        self,
        *,
        client: httpx.Client | None = None,
        now: datetime | None = None,
        resolver: webhooks.Resolver = socket.getaddrinfo,
    ) -> str | None:
        """Try the delivery due longest; returns delivered, retrying or failed (None: none due).

        Each try leaves the delivery no longer due at ``now``, so repeating ends.
        """
        now = now or utcnow()
        stmt = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(1)
        )
        delivery = self.session.scalar(stmt)
        if delivery is None:
            return None
        with _http(client) as http:
            outcome = self._attempt(delivery, http, now, resolver)
        self.session.flush()
        return outcome

    def deliveries(self, notice_id: uuid.UUID) -> list[WebhookDelivery]:
        stmt = select(WebhookDelivery).where(WebhookDelivery.notice_id == notice_id)
        return list(self.session.scalars(stmt))

    def _attempt(
        self,
        delivery: WebhookDelivery,
        http: httpx.Client,
        now: datetime,
        resolver: webhooks.Resolver,
    ) -> str:
        org = self.session.get(Organisation, delivery.organisation_id)
        notice = self.session.get(RectificationNotice, delivery.notice_id)
        delivery.attempts += 1
        if org is None or notice is None or not org.webhook_url or not org.webhook_secret:
            delivery.state = DeliveryState.FAILED
            delivery.last_error = "no webhook configured"
            return "failed"
        body = json.dumps(notice_payload(notice), sort_keys=True, default=str).encode()
        headers = {
            "Content-Type": "application/json",
            webhooks.SIGNATURE_HEADER: webhooks.sign(
                org.webhook_secret, int(now.timestamp()), body
            ),
            "Shareguard-Delivery": str(delivery.id),
        }
        try:
            response = webhooks.post(http, org.webhook_url, body, headers, resolver)
            delivery.last_status_code = response.status_code
            ok = 200 <= response.status_code < 300
            delivery.last_error = "" if ok else f"HTTP {response.status_code}"
        except ValueError as exc:
            ok = False
            delivery.last_error = f"refused: {exc}"[:200]
        except httpx.HTTPError as exc:
            ok = False
            delivery.last_error = type(exc).__name__
        if ok:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = now
            return "delivered"
        if delivery.attempts >= webhooks.MAX_ATTEMPTS:
            delivery.state = DeliveryState.FAILED
            return "failed"
        delivery.next_attempt_at = now + webhooks.backoff(delivery.attempts)
        return "retrying"

    # internals ---------------------------------------------------------------------
    def _apply(
        self, correction: Correction, principal: Principal, now: datetime | None = None
    ) -> Correction:
        """Supersede through the status service, then notify every recipient and the person."""
        from shareguard.status import StatusService

        old = self._target(correction.target_kind, correction.target_id)
        data = self._new_record_data(
            correction.target_kind, old, dict(correction.changes), correction.evidence_ref
        )
        status = StatusService(self.session)
        # One unit of work: the superseding record, the correction, its notices and the
        # person's notice commit together (the boundary commits), or none of them does.
        new: Any
        if correction.target_kind == TargetKind.STATUS_RECORD:
            new = status.record_status(old.person_id, data, principal)
        else:
            new = status.record_decision(old.person_id, data, principal)
        correction.new_record_id = new.id
        correction.applied_at = utcnow()
        notices = self._send_notices(correction, old, principal, now or utcnow())
        told = PersonNotice(
            person_id=correction.person_id,
            correction_id=correction.id,
            recipients_notified=len(notices),
            message=(
                f"We corrected a {_label(correction.target_kind)} about you. "
                + (
                    f"We have told the {len(notices)} organisation(s) that received the "
                    "earlier information, and asked them to act on the correction. "
                    "You can ask us which organisations were told."
                    if notices
                    else "No organisation had received the earlier information."
                )
            ),
        )
        self.session.add(told)
        self._audit("correction.apply", principal, correction, notices=len(notices))
        self.session.flush()
        return correction

    def _send_notices(
        self, correction: Correction, old: Any, principal: Principal, now: datetime
    ) -> list[RectificationNotice]:
        refs = disclosures_of(self.session, str(old.person_id), [str(old.id)])
        by_org: dict[uuid.UUID, list[DisclosureRef]] = defaultdict(list)
        for ref in refs:
            if ref.recipient_org_id is not None:
                by_org[ref.recipient_org_id].append(ref)
        changed = ", ".join(sorted(correction.changes))
        notices = []
        for org_id, items in sorted(by_org.items(), key=lambda kv: kv[1][0].at):
            ids = [str(r.id) for r in items]
            agreements = sorted({str(r.agreement_id) for r in items if r.agreement_id})
            notice = RectificationNotice(
                reference=f"RN-{uuid.uuid4().hex[:10].upper()}",
                correction_id=correction.id,
                organisation_id=org_id,
                agreement_ids=agreements,
                disclosure_ids=ids,
                disclosure_kinds=sorted({r.kind for r in items}),
                first_disclosed_at=items[0].at,
                what_changed=(
                    f"The {_label(correction.target_kind)} behind {len(ids)} disclosure(s) we "
                    f"made to you (disclosure ids: {', '.join(ids)}) was wrong and was "
                    f"corrected on {now:%Y-%m-%d}. Changed: {changed}. Treat the earlier "
                    "answer as withdrawn."
                ),
                expected_action=correction.expected_action,
                deadline=now + timedelta(days=correction.deadline_days),
                created_at=now,
            )
            self.session.add(notice)
            self.session.flush()
            self.session.execute(
                insert(NoticeDisclosure),
                [
                    {"notice_id": notice.id, "disclosure_id": r.id, "agreement_id": r.agreement_id}
                    for r in items
                ],
            )
            org = self.session.get(Organisation, org_id)
            if org is not None and org.webhook_url:
                self.session.add(
                    WebhookDelivery(
                        notice_id=notice.id, organisation_id=org_id, next_attempt_at=now
                    )
                )
            targets: list[str | None] = list(agreements) or [None]
            for agreement in targets:
                append(
                    self.session,
                    AuditRecord(
                        action="correction.notice",
                        actor_org_id=principal.organisation_id,
                        actor_user_id=principal.user_id,
                        agreement_id=uuid.UUID(agreement) if agreement else None,
                        subject_ref=str(correction.person_id),
                        details={
                            "correction": str(correction.id),
                            "notice": str(notice.id),
                            "recipient": str(org_id),
                            "disclosures": ids,
                        },
                    ),
                )
            notices.append(notice)
        return notices

    def _target(self, kind: str, target_id: uuid.UUID) -> Any:
        from shareguard.status.models import ImmigrationDecision, StatusRecord

        model = StatusRecord if kind == TargetKind.STATUS_RECORD else ImmigrationDecision
        row = self.session.get(model, target_id)
        if row is None:
            raise NotFound(f"{_label(kind)} {target_id} not found")
        return row

    def _superseded(self, kind: str, record_id: uuid.UUID) -> bool:
        from shareguard.status.models import ImmigrationDecision, StatusRecord

        model: Any = StatusRecord if kind == TargetKind.STATUS_RECORD else ImmigrationDecision
        stmt = select(model.id).where(model.supersedes_id == record_id).limit(1)
        return self.session.scalar(stmt) is not None

    def _new_record_data(
        self, kind: str, old: Any, changes: dict[str, Any], evidence_ref: str
    ) -> Any:
        from shareguard.status.schemas import DecisionIn, StatusIn

        fields = STATUS_FIELDS if kind == TargetKind.STATUS_RECORD else DECISION_FIELDS
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise InvalidInput(f"a correction cannot change: {', '.join(unknown)}", field="changes")
        values = {f: getattr(old, f) for f in fields}
        values.update(changes)
        values.update(supersedes_id=old.id, evidence_ref=evidence_ref, source="correction")
        try:
            if kind == TargetKind.STATUS_RECORD:
                return StatusIn(**values, reason="correction")
            return DecisionIn(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "changes"
            raise InvalidInput(
                f"changes.{field}: {first['msg'].removeprefix('Value error, ')}",
                field=f"changes.{field}",
            ) from None

    def _may_see_person(self, person_id: uuid.UUID, principal: Principal) -> None:
        if principal.person_id == person_id or principal.has(CASEWORKER, OFFICER, "system"):
            return
        raise Forbidden("only the person, or a caseworker helping them, may see this")

    def _audit(
        self, action: str, principal: Principal, correction: Correction, **extra: Any
    ) -> None:
        append(
            self.session,
            AuditRecord(
                action=action,
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                subject_ref=str(correction.person_id),
                details={
                    "correction": str(correction.id),
                    "target_kind": correction.target_kind,
                    "target": str(correction.target_id),
                    "state": correction.state,
                    **extra,
                },
            ),
        )


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


def _jsonable(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()}

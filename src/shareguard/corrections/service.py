"""Corrections and rectification notices: the only code that writes them.

A correction supersedes the wrong status record or decision through the status service
(history is kept), then finds every disclosure that carried the wrong record (the one door's
``disclosures.record_refs``) and sends one rectification notice per recipient organisation
(UK GDPR Art 19). Recipients pull notices or receive signed webhooks, and acknowledge them;
overdue notices escalate to the governance officer; the person is told.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.accounts.principal import Principal
from shareguard.audit import AuditRecord, append
from shareguard.corrections.models import (
    Correction,
    CorrectionState,
    NoticeDisclosure,
    PersonNotice,
    RectificationNotice,
    TargetKind,
    WebhookDelivery,
    withdrawn,
)
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.matching.models import AdverseAction, Candidate
from shareguard.policy.models import Disclosure
from shareguard.status import StatusService
from shareguard.status.models import ImmigrationDecision, StatusRecord
from shareguard.status.schemas import DecisionIn, StatusIn
from shareguard.storage.base import utcnow

CASEWORKER = "caseworker"
OFFICER = "governance_officer"
DEFAULT_DEADLINE_DAYS = 14
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

    wanted = set(record_ids)
    # The columns used, not entities: a person with many disclosures made this a correction's
    # costliest read.
    rows = session.execute(
        select(
            Disclosure.id,
            Disclosure.kind,
            Disclosure.agreement_id,
            Disclosure.recipient_org_id,
            Disclosure.at,
            Disclosure.record_refs,
        ).where(Disclosure.subject_ref == subject_ref)
    )
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


def withdrawn_disclosures(session: Session) -> set[str]:
    """Ids of every disclosure a rectification notice has withdrawn (its data was wrong).

    Reads every notice: for small worlds and as the reports' reference counting; ask
    ``withdrawn(column)`` in SQL instead where the number of notices can grow.
    """
    out: set[str] = set()
    for ids in session.scalars(select(RectificationNotice.disclosure_ids)):
        out.update(ids or ())
    return out


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

    # internals ---------------------------------------------------------------------
    def _apply(
        self, correction: Correction, principal: Principal, now: datetime | None = None
    ) -> Correction:
        """Supersede through the status service, then notify every recipient and the person."""

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
            webhook_url = self.session.scalar(
                select(Organisation.webhook_url).where(Organisation.id == org_id)
            )
            if webhook_url:
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

        model = StatusRecord if kind == TargetKind.STATUS_RECORD else ImmigrationDecision
        row = self.session.get(model, target_id)
        if row is None:
            raise NotFound(f"{_label(kind)} {target_id} not found")
        return row

    def _superseded(self, kind: str, record_id: uuid.UUID) -> bool:

        model: Any = StatusRecord if kind == TargetKind.STATUS_RECORD else ImmigrationDecision
        stmt = select(model.id).where(model.supersedes_id == record_id).limit(1)
        return self.session.scalar(stmt) is not None

    def _new_record_data(
        self, kind: str, old: Any, changes: dict[str, Any], evidence_ref: str
    ) -> Any:

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


def _jsonable(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()}

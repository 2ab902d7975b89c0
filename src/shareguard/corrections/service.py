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
from shareguard.audit import AuditRecord, append, append_many
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
from shareguard.storage.base import new_id, utcnow

CASEWORKER = "caseworker"
OFFICER = "governance_officer"
DEFAULT_DEADLINE_DAYS = 14
#: Ids per ``IN (...)`` of the bulk reads.
BULK_CHUNK = 500
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
    return disclosures_of_many(session, [(subject_ref, record_ids)])[0]


def disclosures_of_many(
    session: Session, wanted: Sequence[tuple[str, Sequence[str]]]
) -> list[list[DisclosureRef]]:
    """``disclosures_of`` for many (subject, record ids) pairs, in their order: one query per
    500 subjects."""

    subjects = list(dict.fromkeys(ref for ref, _ in wanted))
    by_subject: dict[str, list[Any]] = defaultdict(list)
    # The columns used, not entities: a person with many disclosures made this a correction's
    # costliest read.
    for i in range(0, len(subjects), BULK_CHUNK):
        rows = session.execute(
            select(
                Disclosure.id,
                Disclosure.kind,
                Disclosure.agreement_id,
                Disclosure.recipient_org_id,
                Disclosure.at,
                Disclosure.record_refs,
                Disclosure.subject_ref,
            ).where(Disclosure.subject_ref.in_(subjects[i : i + BULK_CHUNK]))
        )
        for d in rows:
            by_subject[d.subject_ref].append(d)
    out = []
    for subject_ref, record_ids in wanted:
        ids = set(record_ids)
        found = [
            DisclosureRef(
                id=d.id,
                kind=d.kind,
                agreement_id=d.agreement_id,
                recipient_org_id=d.recipient_org_id,
                at=d.at,
            )
            for d in by_subject.get(subject_ref, ())
            if ids.intersection(str(r) for r in (d.record_refs or ()))
        ]
        out.append(sorted(found, key=lambda r: (r.at, str(r.id))))
    return out


def adverse_actions_standing(
    session: Session, person_id: uuid.UUID, record_id: uuid.UUID | None = None
) -> int:
    """Adverse actions taken on disclosures about the person (that carried ``record_id``,
    when given) which no rectification notice has yet withdrawn."""
    return adverse_actions_standing_many(session, [(person_id, record_id)])[0]


def adverse_actions_standing_many(
    session: Session, wanted: Sequence[tuple[uuid.UUID, uuid.UUID | None]]
) -> list[int]:
    """``adverse_actions_standing`` for many (person, record) pairs, in their order."""

    persons = list(dict.fromkeys(pid for pid, _ in wanted))
    acted: dict[uuid.UUID, list[str]] = defaultdict(list)
    for i in range(0, len(persons), BULK_CHUNK):
        stmt = (
            select(Candidate.person_id, Candidate.disclosure_id)
            .join(AdverseAction, AdverseAction.candidate_id == Candidate.id)
            .where(Candidate.person_id.in_(persons[i : i + BULK_CHUNK]))
            .where(~withdrawn(Candidate.disclosure_id))
        )
        for person_id, disclosure_id in session.execute(stmt):
            if disclosure_id:
                acted[person_id].append(str(disclosure_id))
    # Only the people with an action standing need their disclosures read.
    asks = [(str(pid), [str(rid)]) for pid, rid in wanted if rid is not None and acted.get(pid)]
    carried = iter(disclosures_of_many(session, asks))
    out = []
    for pid, rid in wanted:
        acted_on = acted.get(pid, [])
        if acted_on and rid is not None:
            ids = {str(r.id) for r in next(carried)}
            acted_on = [d for d in acted_on if d in ids]
        out.append(len(acted_on))
    return out


def withdrawn_disclosures(session: Session) -> set[str]:
    """Ids of every disclosure a rectification notice has withdrawn (its data was wrong).

    Reads every notice: for small worlds and as the reports' reference counting; ask
    ``withdrawn(column)`` in SQL instead where the number of notices can grow.
    """
    out: set[str] = set()
    for ids in session.scalars(select(RectificationNotice.disclosure_ids)):
        out.update(ids or ())
    return out


@dataclass(frozen=True)
class NewCorrection:
    """One correction of a batch (``CorrectionService.correct_many``): what ``correct`` takes,
    with the caseworker who asks for it."""

    principal: Principal
    target_kind: str
    target_id: uuid.UUID
    reason: str
    evidence_ref: str
    changes: Mapping[str, Any]
    expected_action: str = ""
    deadline_days: int = DEFAULT_DEADLINE_DAYS
    lifts_adverse_action: bool = False


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
        item = NewCorrection(
            principal,
            target_kind,
            target_id,
            reason,
            evidence_ref,
            changes,
            expected_action,
            deadline_days,
            lifts_adverse_action,
        )
        return self.correct_many([item], now=now)[0]

    def correct_many(
        self, items: Sequence[NewCorrection], *, now: datetime | None = None
    ) -> list[Correction]:
        """``correct`` for many at one moment, each by its own caseworker: the same checks
        and the same rows and audit entries as one at a time, read in bulk and written with a
        few flushes (not six per correction). Refused whole: the first item at fault raises
        (as ``correct`` would for it) and nothing is written."""
        for item in items:
            self._check_asked(item)
        olds = self._targets([(i.target_kind, i.target_id) for i in items])
        for item, old in zip(items, olds, strict=True):
            self._new_record_data(item.target_kind, old, dict(item.changes), item.evidence_ref)
        superseded = self._superseded_many(
            [(i.target_kind, old.id) for i, old in zip(items, olds, strict=True)]
        )
        pending = self._pending_many([old.id for old in olds])
        for item, old in zip(items, olds, strict=True):
            if old.id in superseded:
                raise Conflict(f"that {_label(item.target_kind)} has already been superseded")
            if old.id in pending:
                raise Conflict(
                    f"a correction of that {_label(item.target_kind)} is awaiting approval"
                )
            # A second correction of the same record in the batch finds it taken, as it would
            # one at a time (superseded once applied, or awaiting approval).
            pending.add(old.id)
        standing = adverse_actions_standing_many(
            self.session, [(old.person_id, old.id) for old in olds]
        )
        corrections = []
        for item, old, acted in zip(items, olds, standing, strict=True):
            lifts = item.lifts_adverse_action or acted > 0
            corrections.append(
                Correction(
                    id=new_id(),
                    person_id=old.person_id,
                    target_kind=item.target_kind,
                    target_id=old.id,
                    changes=_jsonable(item.changes),
                    reason=item.reason.strip(),
                    evidence_ref=item.evidence_ref.strip(),
                    expected_action=item.expected_action.strip() or DEFAULT_ACTION,
                    deadline_days=item.deadline_days,
                    lifts_adverse_action=lifts,
                    state=CorrectionState.PENDING_APPROVAL if lifts else CorrectionState.APPLIED,
                    requested_by=item.principal.user_id,
                )
            )
        self.session.add_all(corrections)
        self.session.flush()
        append_many(
            self.session,
            [
                self._record("correction.request", i.principal, c)
                for i, c in zip(items, corrections, strict=True)
            ],
        )
        self._apply_many(
            [
                (c, i.principal)
                for i, c in zip(items, corrections, strict=True)
                if c.state == CorrectionState.APPLIED
            ],
            now,
        )
        return corrections

    def approve(
        self, correction_id: uuid.UUID, principal: Principal, *, now: datetime | None = None
    ) -> Correction:
        """A second caseworker approves a pending correction; it is then applied."""
        return self.approve_many([(correction_id, principal)], now=now)[0]

    def approve_many(
        self, items: Sequence[tuple[uuid.UUID, Principal]], *, now: datetime | None = None
    ) -> list[Correction]:
        """``approve`` for many at one moment, each (correction, second caseworker) as
        ``approve`` checks it; applied together with a few flushes. Refused whole."""
        for _, principal in items:
            principal.require(CASEWORKER)
        found = self._corrections_by_id([cid for cid, _ in items])
        taken: set[uuid.UUID] = set()
        out = []
        for correction_id, principal in items:
            correction = found.get(correction_id)
            if correction is None:
                raise NotFound(f"correction {correction_id} not found")
            if correction.state != CorrectionState.PENDING_APPROVAL or correction.id in taken:
                raise Conflict("this correction is not waiting for approval")
            if principal.user_id is None or principal.user_id == correction.requested_by:
                raise Forbidden("a second caseworker, not the one who asked, must approve")
            taken.add(correction.id)
            out.append(correction)
        approved_at = utcnow()
        for correction, (_, principal) in zip(out, items, strict=True):
            correction.approved_by = principal.user_id
            correction.approved_at = approved_at
            correction.state = CorrectionState.APPLIED
        append_many(
            self.session,
            [
                self._record("correction.approve", principal, c)
                for c, (_, principal) in zip(out, items, strict=True)
            ],
        )
        self._apply_many([(c, p) for c, (_, p) in zip(out, items, strict=True)], now)
        return out

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
    def _check_asked(self, item: NewCorrection) -> None:
        """What ``correct`` refuses before reading anything."""
        item.principal.require(CASEWORKER)
        if item.target_kind not in set(TargetKind):
            raise InvalidInput("target must be status_record or decision", field="target_kind")
        if not item.reason or not item.reason.strip():
            raise InvalidInput("a correction needs a reason", field="reason")
        if not item.evidence_ref or not item.evidence_ref.strip():
            raise InvalidInput("a correction needs evidence (a reference)", field="evidence_ref")
        if not 1 <= item.deadline_days <= 90:
            raise InvalidInput("deadline_days must be between 1 and 90", field="deadline_days")
        if not item.changes:
            raise InvalidInput("a correction must change at least one field", field="changes")

    def _apply_many(
        self, items: Sequence[tuple[Correction, Principal]], now: datetime | None = None
    ) -> None:
        """Supersede through the status service, then notify every recipient and the person.

        One unit of work: the superseding records, the corrections, their notices and the
        persons' notices commit together (the boundary commits), or none of them does.
        """
        if not items:
            return
        olds = self._targets([(c.target_kind, c.target_id) for c, _ in items])
        data = [
            self._new_record_data(c.target_kind, old, dict(c.changes), c.evidence_ref)
            for (c, _), old in zip(items, olds, strict=True)
        ]
        status = StatusService(self.session)
        new: list[Any] = [None] * len(items)
        decisions = [
            k for k, (c, _) in enumerate(items) if c.target_kind != TargetKind.STATUS_RECORD
        ]
        made = status.record_decisions(
            [(olds[k].person_id, data[k], items[k][1]) for k in decisions]
        )
        for k, row in zip(decisions, made, strict=True):
            new[k] = row
        for k, (c, principal) in enumerate(items):
            if c.target_kind == TargetKind.STATUS_RECORD:
                new[k] = status.record_status(olds[k].person_id, data[k], principal)
        applied_at = utcnow()
        sent = now or applied_at
        refs = disclosures_of_many(
            self.session, [(str(old.person_id), [str(old.id)]) for old in olds]
        )
        hooks = self._webhook_urls({r.recipient_org_id for rs in refs for r in rs})
        records: list[AuditRecord] = []
        notices: list[RectificationNotice] = []
        links: list[dict[str, Any]] = []
        later: list[Any] = []
        for k, (correction, principal) in enumerate(items):
            correction.new_record_id = new[k].id
            correction.applied_at = applied_at
            mine = self._notices(correction, refs[k], principal, sent, hooks, records, links, later)
            notices.extend(mine)
            later.append(self._person_notice(correction, len(mine)))
            records.append(
                self._record("correction.apply", principal, correction, notices=len(mine))
            )
        self.session.add_all(notices)
        self.session.flush()
        if links:
            self.session.execute(insert(NoticeDisclosure), links)
        self.session.add_all(later)
        append_many(self.session, records)
        self.session.flush()

    def _notices(
        self,
        correction: Correction,
        refs: Sequence[DisclosureRef],
        principal: Principal,
        now: datetime,
        hooks: Mapping[uuid.UUID, str | None],
        records: list[AuditRecord],
        links: list[dict[str, Any]],
        later: list[Any],
    ) -> list[RectificationNotice]:
        """One correction's notices, one per recipient, with their disclosures' rows
        (``links``), webhook deliveries (``later``) and audit entries (``records``)."""
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
                id=new_id(),
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
            links.extend(
                {"notice_id": notice.id, "disclosure_id": r.id, "agreement_id": r.agreement_id}
                for r in items
            )
            if hooks.get(org_id):
                later.append(
                    WebhookDelivery(
                        notice_id=notice.id, organisation_id=org_id, next_attempt_at=now
                    )
                )
            targets: list[str | None] = list(agreements) or [None]
            records.extend(
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
                )
                for agreement in targets
            )
            notices.append(notice)
        return notices

    @staticmethod
    def _person_notice(correction: Correction, notified: int) -> PersonNotice:
        return PersonNotice(
            person_id=correction.person_id,
            correction_id=correction.id,
            recipients_notified=notified,
            message=(
                f"We corrected a {_label(correction.target_kind)} about you. "
                + (
                    f"We have told the {notified} organisation(s) that received the "
                    "earlier information, and asked them to act on the correction. "
                    "You can ask us which organisations were told."
                    if notified
                    else "No organisation had received the earlier information."
                )
            ),
        )

    def _webhook_urls(self, org_ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str | None]:
        wanted = [o for o in org_ids if o is not None]
        if not wanted:
            return {}
        stmt = select(Organisation.id, Organisation.webhook_url).where(Organisation.id.in_(wanted))
        return {row.id: row.webhook_url for row in self.session.execute(stmt)}

    def _targets(self, wanted: Sequence[tuple[str, uuid.UUID]]) -> list[Any]:
        """The wrong records, in ``wanted``'s order; NotFound names the first missing."""
        found: dict[uuid.UUID, Any] = {}
        for kind in {k for k, _ in wanted}:
            model: Any = StatusRecord if kind == TargetKind.STATUS_RECORD else ImmigrationDecision
            ids = list(dict.fromkeys(i for k, i in wanted if k == kind))
            for i in range(0, len(ids), BULK_CHUNK):
                stmt = select(model).where(model.id.in_(ids[i : i + BULK_CHUNK]))
                found.update((row.id, row) for row in self.session.scalars(stmt))
        out = []
        for kind, target_id in wanted:
            row = found.get(target_id)
            model = StatusRecord if kind == TargetKind.STATUS_RECORD else ImmigrationDecision
            if not isinstance(row, model):
                raise NotFound(f"{_label(kind)} {target_id} not found")
            out.append(row)
        return out

    def _superseded_many(self, wanted: Sequence[tuple[str, uuid.UUID]]) -> set[uuid.UUID]:
        """Which of these records a later one already supersedes."""
        out: set[uuid.UUID] = set()
        for kind in {k for k, _ in wanted}:
            model: Any = StatusRecord if kind == TargetKind.STATUS_RECORD else ImmigrationDecision
            ids = list(dict.fromkeys(i for k, i in wanted if k == kind))
            for i in range(0, len(ids), BULK_CHUNK):
                stmt = select(model.supersedes_id).where(
                    model.supersedes_id.in_(ids[i : i + BULK_CHUNK])
                )
                out.update(self.session.scalars(stmt))
        return out

    def _pending_many(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these records have a correction awaiting approval."""
        wanted = list(dict.fromkeys(ids))
        out: set[uuid.UUID] = set()
        for i in range(0, len(wanted), BULK_CHUNK):
            stmt = select(Correction.target_id).where(
                Correction.target_id.in_(wanted[i : i + BULK_CHUNK]),
                Correction.state == CorrectionState.PENDING_APPROVAL,
            )
            out.update(self.session.scalars(stmt))
        return out

    def _corrections_by_id(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Correction]:
        wanted = list(dict.fromkeys(ids))
        out: dict[uuid.UUID, Correction] = {}
        for i in range(0, len(wanted), BULK_CHUNK):
            stmt = select(Correction).where(Correction.id.in_(wanted[i : i + BULK_CHUNK]))
            out.update((c.id, c) for c in self.session.scalars(stmt))
        return out

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
        append(self.session, self._record(action, principal, correction, **extra))

    @staticmethod
    def _record(
        action: str, principal: Principal, correction: Correction, **extra: Any
    ) -> AuditRecord:
        return AuditRecord(
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
        )


def _jsonable(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()}

"""The watch-list gate: who may be matched and shared proactively under an agreement.

A person enters only with a final decision that still stands, no appeal lodged or pending,
the appeal window passed, a second caseworker's verification (four eyes), passing
data-quality checks, and no pause or firewall rule applying to them. The gate is checked
again whenever the list is read, so leaving (status granted, decision overturned, an appeal
lodged, a correction, a new pause) takes effect at once, without anyone remembering to act.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Date, Text, bindparam, case, cast, exists, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement, AgreementState
from shareguard.audit import AuditRecord, append, append_many
from shareguard.capabilities import hooks
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.matching.models import EntryState, WatchlistEntry
from shareguard.policy import DisclosureRequest, Subject, decide, decide_subjects
from shareguard.status import StatusService, subject_for
from shareguard.status.models import (
    AppealState,
    ImmigrationDecision,
    NameKind,
    Person,
    PersonName,
    StatusKind,
    StatusRecord,
)
from shareguard.status.service import APPEALS_MOST_OPEN_FIRST, BULK_CHUNK
from shareguard.storage.base import new_id, today, utcnow

CASEWORKER = "caseworker"

#: Gate reason codes and what they mean, in the order the gate checks them.
REASONS: dict[str, str] = {
    "no_decision": "no immigration decision is recorded for the entry",
    "decision_superseded": "the decision has been superseded by a later one",
    "decision_overturned": "the decision was overturned",
    "decision_not_adverse": "the decision is not a refusal or curtailment",
    "decision_not_final": "the decision is not final",
    "appeal_open": "an appeal is lodged or pending",
    "appeal_window_open": "the appeal window has not yet passed",
    "not_verified": "no second caseworker has verified the entry",
    "same_verifier": "the verifier is the caseworker who proposed it (four eyes)",
    "missing_name": "data quality: no name recorded",
    "implausible_date_of_birth": "data quality: implausible date of birth",
    "implausible_decision_date": "data quality: decision date before birth or in the future",
    "status_conflict": "data quality: a current status record grants leave",
    "policy_refused": "a firewall rule or pause applies to this person under the agreement",
    "quality_hold": "data quality: an open finding about this person holds the entry",
    "left": "the entry left the list",
}
ADVERSE_DECISIONS = ("refusal", "curtailment")
LEAVE_KINDS = (StatusKind.SETTLED, StatusKind.PRE_SETTLED, StatusKind.LIMITED_LEAVE)


#: What a run links on, per person, as the gate read it (``gate_facts``' ``identities``):
#: date of birth, postcode and names (given, family) in ``Person.names`` order.
Identity = tuple[date, str, list[tuple[str, str]]]


@dataclass(frozen=True)
class GateFacts:
    """What the gate looks at, gathered from the status register (ids and codes only)."""

    has_name: bool
    date_of_birth: date | None
    decision_type: str | None
    decision_final: bool
    decision_overturned: bool
    decision_superseded: bool
    decision_date: date | None
    appeal_window_end: date | None
    appeal_state: str
    current_status_kind: str | None
    proposed_by: uuid.UUID | None
    verified_by: uuid.UUID | None
    policy_refusal: str | None = None
    #: An open data-quality finding about the person (the ``watchlist.holds`` hook).
    quality_hold: bool = False


def gate(facts: GateFacts, on: date) -> list[str]:
    """Reason codes that keep the entry out on ``on``; empty means it may be on the list."""
    reasons: list[str] = []
    if facts.decision_type is None:
        reasons.append("no_decision")
    else:
        if facts.decision_superseded:
            reasons.append("decision_superseded")
        if facts.decision_overturned:
            reasons.append("decision_overturned")
        if facts.decision_type not in ADVERSE_DECISIONS:
            reasons.append("decision_not_adverse")
        if not facts.decision_final:
            reasons.append("decision_not_final")
    if facts.appeal_state in (AppealState.LODGED, AppealState.PENDING):
        reasons.append("appeal_open")
    if facts.decision_type is not None and (
        facts.appeal_window_end is None or facts.appeal_window_end >= on
    ):
        reasons.append("appeal_window_open")
    if facts.verified_by is None:
        reasons.append("not_verified")
    elif facts.verified_by == facts.proposed_by:
        reasons.append("same_verifier")
    if not facts.has_name:
        reasons.append("missing_name")
    dob = facts.date_of_birth
    if dob is None or dob.year < 1900 or dob > on:
        reasons.append("implausible_date_of_birth")
    if facts.decision_date is not None and (
        facts.decision_date > on or (dob is not None and facts.decision_date < dob)
    ):
        reasons.append("implausible_decision_date")
    if facts.current_status_kind in LEAVE_KINDS:
        reasons.append("status_conflict")
    if facts.policy_refusal:
        reasons.append("policy_refused")
    if facts.quality_hold:
        reasons.append("quality_hold")
    return reasons


def _gate_evidence(entry: WatchlistEntry | Admitted, facts: GateFacts, on: date) -> dict[str, Any]:
    """What the gate saw when it verified ``entry`` (kept with the entry)."""
    return {
        "checked_on": on.isoformat(),
        "decision_id": str(entry.decision_id),
        "decision_type": facts.decision_type,
        "decision_final": facts.decision_final,
        "appeal_state": facts.appeal_state,
        "appeal_window_end": facts.appeal_window_end.isoformat()
        if facts.appeal_window_end
        else None,
        "current_status_kind": facts.current_status_kind,
        "policy": facts.policy_refusal or "permit",
    }


def explain(reasons: list[str]) -> list[str]:
    return [REASONS.get(r, r) for r in reasons]


@dataclass
class Gated:
    """An agreement's active entries read through the gate (``WatchlistService.gated``)."""

    #: Entries as rows with the gate's columns (``GATED``) and the facts it read with them
    #: (``_GATE_JOINED``), not loaded entities.
    included: list[Any]
    #: Entries kept out, each with its reason codes.
    kept_out: list[tuple[Any, list[str]]]
    #: Entry id -> the policy's refusal kind (``pause``, ``firewall``, ...) for the entries
    #: kept out with ``policy_refused``.
    policy: dict[uuid.UUID, str]
    #: Person id -> what a run links on (``Identity``), as the gate read it, for every
    #: person gated (``gated(..., identities=True)``; empty otherwise).
    identities: dict[uuid.UUID, Identity] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """What a run records of the people kept out (counts only): ``kept_out``, and
        ``kept_out_by_reason`` (an entry counts under each of its reasons) and
        ``kept_out_by_policy`` (under the policy's one refusal kind: a pause, a firewall rule)."""
        by_reason = Counter(r for _entry, reasons in self.kept_out for r in reasons)
        by_policy = Counter(self.policy.values())
        return {
            "kept_out": len(self.kept_out),
            "kept_out_by_reason": dict(sorted(by_reason.items())),
            "kept_out_by_policy": dict(sorted(by_policy.items())),
        }


@dataclass
class Admitted:
    """A watch-list entry admitted in bulk (``WatchlistService.admit_many``): its columns, as
    written; read it again with ``WatchlistService.get`` for the entity."""

    id: uuid.UUID
    created_at: datetime
    agreement_id: uuid.UUID
    person_id: uuid.UUID
    decision_id: uuid.UUID | None
    evidence_ref: str
    proposed_by: uuid.UUID | None
    state: str = EntryState.PROPOSED
    verified_by: uuid.UUID | None = None
    verified_at: datetime | None = None
    reasons: list[str] = field(default_factory=list)
    gate_evidence: dict[str, Any] = field(default_factory=dict)
    left_at: datetime | None = None
    left_reason: str = ""

    def row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _ENTRY_COLUMNS}


_ENTRY_TABLE: Any = WatchlistEntry.__table__
_ENTRY_COLUMNS = tuple(c.key for c in _ENTRY_TABLE.columns)
_INSERT_ENTRY = insert(_ENTRY_TABLE)


class WatchlistService:
    """Proposes, verifies, re-checks and removes watch-list entries (the boundary commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.status = StatusService(session)

    # facts -----------------------------------------------------------------------
    def _facts(
        self, entry: WatchlistEntry, agreement: Agreement, on: date, verified_by: uuid.UUID | None
    ) -> GateFacts:
        return gate_facts(self.session, agreement, [entry], on, verifiers=[verified_by])[0]

    def check(self, entry: WatchlistEntry, on: date | None = None) -> list[str]:
        """The gate's reasons for this entry now (re-checked; reads only)."""
        return self.check_many([entry], on)[entry.id]

    def check_many(
        self, entries: Sequence[WatchlistEntry], on: date | None = None
    ) -> dict[uuid.UUID, list[str]]:
        """The gate's reasons for each entry now, by entry id, evaluated in bulk (reads only).

        One pass over the register for all of them (a handful of queries per 500 persons and
        one batch of policy decisions), not a round of queries per entry.
        """
        return {k: reasons for k, (reasons, _policy) in self._gate_many(entries, on).items()}

    def _gate_many(
        self,
        entries: Sequence[WatchlistEntry],
        on: date | None = None,
        identities: dict[uuid.UUID, Identity] | None = None,
    ) -> dict[uuid.UUID, tuple[list[str], str | None]]:
        """``check_many`` with the policy's refusal kind (pause, firewall, ...) kept too: the
        reason code ``policy_refused`` alone cannot tell a pause from a firewall rule."""
        on = on or today()
        out: dict[uuid.UUID, tuple[list[str], str | None]] = {}
        by_agreement: dict[uuid.UUID, list[WatchlistEntry]] = {}
        for entry in entries:
            if entry.state == EntryState.LEFT:
                out[entry.id] = (["left"], None)
            else:
                by_agreement.setdefault(entry.agreement_id, []).append(entry)
        for agreement_id, group in by_agreement.items():
            agreement = self._agreement(agreement_id)
            facts = gate_facts(self.session, agreement, group, on, identities=identities)
            for entry, f in zip(group, facts, strict=True):
                out[entry.id] = (gate(f, on), f.policy_refusal)
        return out

    def precheck(
        self,
        agreement_id: uuid.UUID,
        person_id: uuid.UUID,
        decision_id: uuid.UUID,
        proposer: uuid.UUID | None,
        on: date | None = None,
    ) -> list[str]:
        """What the gate would refuse now, apart from the verification still to come (reads only).

        Lets a caseworker see, before proposing, that an appeal or an open window keeps the
        person out; ``verify`` runs the whole gate again.
        """
        on = on or today()
        draft = WatchlistEntry(
            agreement_id=agreement_id,
            person_id=person_id,
            decision_id=decision_id,
            proposed_by=proposer,
            state=EntryState.PROPOSED,
        )  # never added to the session: nothing is written
        facts = self._facts(draft, self._agreement(agreement_id), on, None)
        return [r for r in gate(facts, on) if r not in ("not_verified", "same_verifier")]

    def _agreement(self, agreement_id: uuid.UUID) -> Agreement:
        agreement = self.session.get(Agreement, agreement_id)
        if agreement is None:
            raise NotFound(f"agreement {agreement_id} not found")
        return agreement

    def _listable(self, agreement_id: uuid.UUID, *principals: Principal) -> Agreement:
        """The agreement, if people may be put on its watch list: bulk sharing, not ended, and
        the caseworkers acting work for an organisation that discloses under it (a recipient
        or a body outside the agreement has no standing to list the discloser's people)."""
        agreement = self._agreement(agreement_id)
        for principal in principals:
            _require_discloser(agreement, principal)
        if not agreement.bulk:
            raise Conflict("this agreement does not allow bulk sharing", field="agreement_id")
        if agreement.state == AgreementState.ENDED:
            raise Conflict(
                "this agreement has ended: nobody can be put on its watch list",
                field="agreement_id",
            )
        return agreement

    # writing -----------------------------------------------------------------------
    def propose(
        self,
        agreement_id: uuid.UUID,
        person_id: uuid.UUID,
        decision_id: uuid.UUID,
        evidence_ref: str,
        principal: Principal,
    ) -> WatchlistEntry:
        """A caseworker proposes a person, naming the decision and the evidence."""
        principal.require(CASEWORKER)
        self._listable(agreement_id, principal)
        self.status.person(person_id)
        decision = self.session.get(ImmigrationDecision, decision_id)
        if decision is None or decision.person_id != person_id:
            raise NotFound(f"decision {decision_id} not found for this person", field="decision_id")
        if not evidence_ref.strip():
            raise InvalidInput("the evidence reference is required", field="evidence_ref")
        open_entry = self.session.scalar(
            select(WatchlistEntry.id).where(
                WatchlistEntry.agreement_id == agreement_id,
                WatchlistEntry.person_id == person_id,
                WatchlistEntry.state.in_([EntryState.PROPOSED, EntryState.ACTIVE]),
            )
        )
        if open_entry is not None:
            raise Conflict(
                "this person already has an open entry on this watch list",
                field="person_id",
                entry_id=str(open_entry),
            )
        entry = WatchlistEntry(
            agreement_id=agreement_id,
            person_id=person_id,
            decision_id=decision_id,
            evidence_ref=evidence_ref.strip(),
            proposed_by=principal.user_id,
            state=EntryState.PROPOSED,
        )
        self.session.add(entry)
        self.session.flush()
        self._audit("watchlist.propose", entry, principal)
        self.session.flush()
        return entry

    def verify(self, entry_id: uuid.UUID, principal: Principal) -> WatchlistEntry:
        """A second caseworker verifies: the gate runs, and the entry is active or refused."""
        principal.require(CASEWORKER)
        entry = self.get(entry_id)
        if entry.state != EntryState.PROPOSED:
            raise Conflict(f"the entry is {entry.state}, not proposed", field="state")
        if principal.user_id is None or principal.user_id == entry.proposed_by:
            raise Forbidden("a second caseworker, not the proposer, must verify (four eyes)")
        agreement = self._agreement(entry.agreement_id)
        _require_discloser(agreement, principal)
        on = today()
        facts = self._facts(entry, agreement, on, principal.user_id)
        reasons = gate(facts, on)
        entry.verified_by = principal.user_id
        entry.verified_at = utcnow()
        entry.reasons = reasons
        entry.state = EntryState.REFUSED if reasons else EntryState.ACTIVE
        entry.gate_evidence = _gate_evidence(entry, facts, on)
        self._audit(
            "watchlist.verify",
            entry,
            principal,
            decision="deny" if reasons else "permit",
            reasons=tuple(reasons),
        )
        self.session.flush()
        return entry

    def admit_many(
        self,
        agreement_id: uuid.UUID,
        proposals: Sequence[tuple[uuid.UUID, uuid.UUID, str]],
        proposer: Principal,
        verifier: Principal,
    ) -> list[Admitted]:
        """``propose`` then ``verify`` for many (person, decision, evidence) at once: the same
        rules (four eyes, a bulk agreement, the whole gate) and the same two audit entries
        per entry, with the gate evaluated in bulk and the rows written in one batch. For
        intakes of thousands (the seed-scale demo's refusal pool); a person with an open
        entry already is left out."""
        proposer.require(CASEWORKER)
        verifier.require(CASEWORKER)
        if verifier.user_id is None or verifier.user_id == proposer.user_id:
            raise Forbidden("a second caseworker, not the proposer, must verify (four eyes)")
        agreement = self._listable(agreement_id, proposer, verifier)
        if any(not evidence.strip() for _, _, evidence in proposals):
            raise InvalidInput("the evidence reference is required", field="evidence_ref")
        wanted = [p for p, _, _ in proposals]
        open_: set[uuid.UUID] = set()
        for i in range(0, len(wanted), BULK_CHUNK):
            open_.update(
                self.session.scalars(
                    select(WatchlistEntry.person_id).where(
                        WatchlistEntry.agreement_id == agreement_id,
                        WatchlistEntry.person_id.in_(wanted[i : i + BULK_CHUNK]),
                        WatchlistEntry.state.in_([EntryState.PROPOSED, EntryState.ACTIVE]),
                    )
                )
            )
        now, on = utcnow(), today()
        # Plain rows (``Admitted``), not entities: for an intake of thousands, building and
        # bulk-inserting ORM objects cost more than the gate itself.
        entries = [
            Admitted(
                id=new_id(),
                created_at=now,
                agreement_id=agreement_id,
                person_id=person_id,
                decision_id=decision_id,
                evidence_ref=evidence.strip(),
                proposed_by=proposer.user_id,
            )
            for person_id, decision_id, evidence in proposals
            if person_id not in open_
        ]
        if not entries:
            return []
        facts = gate_facts(
            self.session, agreement, entries, on, verifiers=[verifier.user_id] * len(entries)
        )
        records: list[AuditRecord] = []
        for entry, f in zip(entries, facts, strict=True):
            if f.decision_type is None:  # as ``propose``: the decision must be the person's
                raise NotFound("a decision was not found for its person", field="decision_id")
            records.append(self._record("watchlist.propose", entry, proposer))
            reasons = gate(f, on)
            entry.verified_by = verifier.user_id
            entry.verified_at = now
            entry.reasons = reasons
            entry.state = EntryState.REFUSED if reasons else EntryState.ACTIVE
            entry.gate_evidence = _gate_evidence(entry, f, on)
            records.append(
                self._record(
                    "watchlist.verify",
                    entry,
                    verifier,
                    decision="deny" if reasons else "permit",
                    reasons=tuple(reasons),
                )
            )
        conn = self.session.connection()
        rows = [e.row() for e in entries]
        for i in range(0, len(rows), 1000):
            conn.execute(_INSERT_ENTRY, rows[i : i + 1000])
        append_many(self.session, records)
        return entries

    def leave(self, entry_id: uuid.UUID, reason: str, principal: Principal) -> WatchlistEntry:
        """Remove an entry now (status granted, decision overturned, correction, ...)."""
        return self.leave_many([(entry_id, principal)], reason)[0]

    def leave_many(
        self, items: Sequence[tuple[uuid.UUID, Principal]], reason: str
    ) -> list[WatchlistEntry]:
        """``leave`` for many entries (each removed by its own caseworker) for one reason:
        the entries read at once, one flush. Refused whole: the first at fault raises."""
        for _, principal in items:
            principal.require(CASEWORKER, "governance_officer")
        if not reason.strip():
            raise InvalidInput("a reason is required to remove an entry", field="reason")
        wanted = list(dict.fromkeys(entry_id for entry_id, _ in items))
        found: dict[uuid.UUID, WatchlistEntry] = {}
        for i in range(0, len(wanted), BULK_CHUNK):
            stmt = select(WatchlistEntry).where(WatchlistEntry.id.in_(wanted[i : i + BULK_CHUNK]))
            found.update((e.id, e) for e in self.session.scalars(stmt))
        entries = []
        leaving: set[uuid.UUID] = set()
        for entry_id, _ in items:
            entry = found.get(entry_id)
            if entry is None:
                raise NotFound(f"watch-list entry {entry_id} not found")
            if entry.state == EntryState.LEFT or entry.id in leaving:
                raise Conflict("the entry has already left the list", field="state")
            leaving.add(entry.id)
            entries.append(entry)
        now, why = utcnow(), reason.strip()[:200]
        for entry in entries:
            entry.state = EntryState.LEFT
            entry.left_at = now
            entry.left_reason = why
        append_many(
            self.session,
            [
                self._record("watchlist.leave", entry, principal, details={"reason": why})
                for entry, (_, principal) in zip(entries, items, strict=True)
            ],
        )
        self.session.flush()
        return entries

    def _audit(
        self,
        action: str,
        entry: WatchlistEntry,
        principal: Principal,
        *,
        decision: str | None = None,
        reasons: tuple[str, ...] = (),
        details: dict[str, Any] | None = None,
    ) -> None:
        append(
            self.session,
            self._record(
                action, entry, principal, decision=decision, reasons=reasons, details=details
            ),
        )

    @staticmethod
    def _record(
        action: str,
        entry: WatchlistEntry | Admitted,
        principal: Principal,
        *,
        decision: str | None = None,
        reasons: tuple[str, ...] = (),
        details: dict[str, Any] | None = None,
    ) -> AuditRecord:
        return AuditRecord(
            action=action,
            actor_org_id=principal.organisation_id,
            actor_user_id=principal.user_id,
            agreement_id=entry.agreement_id,
            subject_ref=str(entry.person_id),
            decision=decision,
            reasons=reasons,
            details={"entry_id": str(entry.id), "state": entry.state, **(details or {})},
        )

    # reading -----------------------------------------------------------------------
    def get(self, entry_id: uuid.UUID) -> WatchlistEntry:
        entry = self.session.get(WatchlistEntry, entry_id)
        if entry is None:
            raise NotFound(f"watch-list entry {entry_id} not found")
        return entry

    def entries(
        self, agreement_id: uuid.UUID | None, state: str | None = None
    ) -> list[WatchlistEntry]:
        """An agreement's entries (every agreement's when None), oldest first."""
        stmt = select(WatchlistEntry)
        if agreement_id is not None:
            stmt = stmt.where(WatchlistEntry.agreement_id == agreement_id)
        if state:
            stmt = stmt.where(WatchlistEntry.state == state)
        return list(
            self.session.scalars(stmt.order_by(WatchlistEntry.created_at, WatchlistEntry.id))
        )

    def page(
        self,
        state: str,
        *,
        agreement_id: uuid.UUID | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[WatchlistEntry]:
        """One page of the entries in a state, oldest first (every agreement's when None)."""
        stmt = select(WatchlistEntry).where(WatchlistEntry.state == state)
        if agreement_id is not None:
            stmt = stmt.where(WatchlistEntry.agreement_id == agreement_id)
        stmt = stmt.order_by(WatchlistEntry.created_at, WatchlistEntry.id)
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def counts(
        self, *, agreement_id: uuid.UUID | None = None, not_proposed_by: uuid.UUID | None = None
    ) -> dict[str, int]:
        """Entries per state (count queries, never capped); ``not_proposed_by`` leaves out a
        caseworker's own proposals (which they may not verify)."""
        stmt = select(WatchlistEntry.state, func.count()).group_by(WatchlistEntry.state)
        if agreement_id is not None:
            stmt = stmt.where(WatchlistEntry.agreement_id == agreement_id)
        if not_proposed_by is not None:
            stmt = stmt.where(
                or_(
                    WatchlistEntry.proposed_by.is_(None),
                    WatchlistEntry.proposed_by != not_proposed_by,
                )
            )
        found = {str(state): int(n) for state, n in self.session.execute(stmt)}
        return {str(s): found.get(str(s), 0) for s in EntryState}

    def current(
        self,
        agreement_id: uuid.UUID,
        person_ids: set[uuid.UUID] | None = None,
        on: date | None = None,
    ) -> tuple[list[Any], list[tuple[Any, list[str]]]]:
        """Active entries that pass the gate now, and those kept out with their reasons.

        The entries are rows of the columns the gate needs (``GATED``: ``id``, ``person_id``,
        ``decision_id`` ...), oldest first, not loaded entities: a run reads a list of a
        hundred thousand. ``person_ids`` limits them to those persons.
        """
        found = self.gated(agreement_id, person_ids, on)
        return found.included, found.kept_out

    def gated(
        self,
        agreement_id: uuid.UUID,
        person_ids: set[uuid.UUID] | None = None,
        on: date | None = None,
        *,
        identities: bool = False,
    ) -> Gated:
        """``current`` with what a match run records: the policy's refusal kind for each entry
        a firewall rule or pause keeps out, and the counts by reason (reads only).
        ``identities``: keep what a run links on of each person (``Gated.identities``)."""
        on = on or today()
        found = Gated([], [], {})
        agreement = self._agreement(agreement_id)
        active = self._active(agreement_id, person_ids, on)
        for i in range(0, len(active), GATE_CHUNK):
            chunk = active[i : i + GATE_CHUNK]
            facts = _assemble(
                self.session,
                agreement,
                chunk,
                {e.person_id: e for e in chunk},
                {e.decision_id: e for e in chunk if e.type is not None},
                on,
                identities=found.identities if identities else None,
            )
            for entry, f in zip(chunk, facts, strict=True):
                reasons = gate(f, on)
                if not reasons:
                    found.included.append(entry)
                    continue
                found.kept_out.append((entry, reasons))
                if f.policy_refusal and "policy_refused" in reasons:
                    found.policy[entry.id] = f.policy_refusal
        return found

    def _active(
        self, agreement_id: uuid.UUID, person_ids: set[uuid.UUID] | None, on: date
    ) -> list[Any]:
        """The active entries (``GATED``), oldest first, each with its person's and its
        decision's facts for the gate (``_GATE_JOINED``): one query, or one per 500 persons."""
        self.session.flush()
        conn = self.session.connection()
        if person_ids is None:
            stmt = _GATE_JOINED.where(
                WatchlistEntry.agreement_id == agreement_id,
                WatchlistEntry.state == EntryState.ACTIVE,
            ).order_by(WatchlistEntry.created_at, WatchlistEntry.id)
            return list(conn.execute(stmt, {"on": on}).all())
        wanted = sorted(person_ids)
        found: list[Any] = []
        # By person: with plain (agreement, state) comparisons SQLite walks that index over
        # the whole list for each chunk. Through coalesce() no index serves them, so they
        # filter the rows the person index finds in SQL (a person has an entry on each bulk
        # agreement: read in Python, half the rows read were another list's).
        mine = (
            func.coalesce(WatchlistEntry.agreement_id, WatchlistEntry.agreement_id) == agreement_id
        ) & (func.coalesce(WatchlistEntry.state, WatchlistEntry.state) == EntryState.ACTIVE)
        stmt = _GATE_JOINED.where(WatchlistEntry.person_id.in_(_IDS), mine)
        for i in range(0, len(wanted), BULK_CHUNK):
            found.extend(conn.execute(stmt, {"ids": wanted[i : i + BULK_CHUNK], "on": on}).all())
        return sorted(found, key=_OLDEST_FIRST)

    def report(self, agreement_id: uuid.UUID) -> list[dict[str, Any]]:
        """Everyone kept out of the agreement's list and why (pseudonymous refs, codes, text)."""
        rows = []
        entries = self.entries(agreement_id)
        checked: dict[uuid.UUID, list[str]] = {}
        active = [e for e in entries if e.state == EntryState.ACTIVE]
        for i in range(0, len(active), GATE_CHUNK):
            checked.update(self.check_many(active[i : i + GATE_CHUNK]))
        for entry in entries:
            if entry.state == EntryState.ACTIVE:
                reasons = checked[entry.id]
            elif entry.state == EntryState.PROPOSED:
                reasons = ["not_verified"]
            elif entry.state == EntryState.LEFT:
                reasons = ["left"]
            else:
                reasons = list(entry.reasons)
            if reasons:
                rows.append(
                    {
                        "entry_id": str(entry.id),
                        "person_ref": str(entry.person_id),
                        "state": entry.state,
                        "reasons": reasons,
                        "explained": explain(reasons),
                        "left_reason": entry.left_reason or None,
                    }
                )
        return rows


_OLDEST_FIRST = attrgetter("created_at", "id")
#: Entries gated per pass when a whole list is read (bounds memory, not correctness).
GATE_CHUNK = 5000
#: What the gate reads of an entry (``gate_facts``, ``check_many``), and its order.
GATED = (
    WatchlistEntry.id,
    WatchlistEntry.agreement_id,
    WatchlistEntry.person_id,
    WatchlistEntry.decision_id,
    WatchlistEntry.state,
    WatchlistEntry.proposed_by,
    WatchlistEntry.verified_by,
    WatchlistEntry.created_at,
)


def gate_facts(
    session: Session,
    agreement: Agreement,
    entries: Sequence[Any],
    on: date,
    *,
    verifiers: Sequence[uuid.UUID | None] | None = None,
    identities: dict[uuid.UUID, Identity] | None = None,
) -> list[GateFacts]:
    """The gate's facts for each entry of one agreement, gathered in bulk (reads only).

    ``entries`` need ``person_id``, ``decision_id``, ``proposed_by`` and ``verified_by``;
    ``verifiers`` replaces the last (the verification being made). A few queries per 500
    persons and one batch of policy decisions, however many entries. NotFound when an
    entry's person does not exist. ``identities``, when given, gets each person's names,
    date of birth and postcode (read anyway), for a run to link on without reading them again.
    """
    session.flush()
    conn = session.connection()
    person_ids = list(dict.fromkeys(e.person_id for e in entries))
    persons: dict[uuid.UUID, Any] = {}
    # Rows fetched whole (``all``): iterating a result fetches one row per call.
    for i in range(0, len(person_ids), BULK_CHUNK):
        chunk = person_ids[i : i + BULK_CHUNK]
        for p in conn.execute(_GATE_PERSONS, {"ids": chunk, "on": on}).all():
            persons[p.id] = p
    missing = [p for p in person_ids if p not in persons]
    if missing:
        raise NotFound(f"person {missing[0]} not found")
    # Only the entries' own decisions, each with whether another decision supersedes it.
    decision_ids = list({e.decision_id for e in entries if e.decision_id})
    decisions: dict[uuid.UUID, Any] = {}
    for i in range(0, len(decision_ids), BULK_CHUNK):
        for d in conn.execute(_GATE_DECISIONS, {"ids": decision_ids[i : i + BULK_CHUNK]}).all():
            decisions[d.id] = d
    return _assemble(
        session,
        agreement,
        entries,
        persons,
        decisions,
        on,
        verifiers=verifiers,
        identities=identities,
    )


def _assemble(
    session: Session,
    agreement: Agreement,
    entries: Sequence[Any],
    persons: dict[uuid.UUID, Any],
    decisions: dict[uuid.UUID, Any],
    on: date,
    *,
    verifiers: Sequence[uuid.UUID | None] | None = None,
    identities: dict[uuid.UUID, Identity] | None = None,
) -> list[GateFacts]:
    """``gate_facts`` from what is already read: each person's facts (``_GATE_PERSONS``'
    columns, by person id) and the entries' decisions (``_GATE_DECISIONS``' columns, by
    decision id). Reads the names and the data-quality holds, and decides the policy."""
    conn = session.connection()
    person_ids = list(dict.fromkeys(e.person_id for e in entries))
    # Names as (given, family, kind) tuples: unpacked once, not looked up by attribute.
    names: dict[uuid.UUID, list[tuple[str, str, str]]] = {}
    for i in range(0, len(person_ids), BULK_CHUNK):
        rows = conn.execute(_GATE_NAMES, {"ids": person_ids[i : i + BULK_CHUNK]}).all()
        for owner, given, family, kind in rows:
            found = names.get(owner)
            if found is None:
                names[owner] = [(given, family, kind)]
            else:
                found.append((given, family, kind))
    held: set[uuid.UUID] = set()
    for holds in hooks("watchlist.holds"):  # open data-quality findings hold entries
        held |= holds(session, person_ids)
    # Categories and locks as stored (JSON text): most people share a few values, decoded once.
    sets: dict[Any, frozenset[str]] = {}
    subjects = []
    for pid in person_ids:
        p = persons[pid]
        categories, locks = sets.get(p.categories), sets.get(p.locks)
        if categories is None:
            categories = sets[p.categories] = _json_set(p.categories)
        if locks is None:
            locks = sets[p.locks] = _json_set(p.locks)
        subjects.append(
            Subject(
                ref=str(pid),
                date_of_birth=p.date_of_birth,
                categories=categories,
                appeal_state=_APPEAL_BY_RANK[p.appeal_rank],
                locks=locks,
            )
        )
    verdicts = decide_subjects(
        session,
        DisclosureRequest(
            principal=recipient_principal(agreement),
            action="bulk_disclosure",
            agreement_id=agreement.id,
            purpose=agreement.purposes[0] if agreement.purposes else "",
            data_items=tuple(agreement.data_items),
        ),
        subjects,
    )
    # What the gate reads of each person, whichever of their entries it reads it for.
    person: dict[uuid.UUID, tuple[bool, Any, str, str | None, str | None, bool]] = {}
    for pid, subject, verdict in zip(person_ids, subjects, verdicts, strict=True):
        p = persons[pid]
        own = names.get(pid, ())
        name = None
        if own:
            name = own[0]
            if name[2] != _PRIMARY:  # names come in position order: the primary is usually first
                name = next((n for n in own if n[2] == _PRIMARY), name)
        person[pid] = (
            bool(name and name[0].strip() and name[1].strip()),
            p.date_of_birth,
            subject.appeal_state,
            p.status_kind,
            None if verdict.allowed else verdict.kind,
            pid in held,
        )
        if identities is not None:
            identities[pid] = (
                p.date_of_birth,
                p.postcode,
                [(given, family) for given, family, _kind in own],
            )
    out = []
    for k, entry in enumerate(entries):
        pid = entry.person_id
        has_name, born, appeal, status_kind, refusal, hold = person[pid]
        decision = decisions.get(entry.decision_id) if entry.decision_id else None
        if decision is not None and decision.person_id != pid:
            decision = None  # another person's decision is no decision of this one's
        out.append(
            GateFacts(
                has_name=has_name,
                date_of_birth=born,
                decision_type=decision.type if decision else None,
                decision_final=bool(decision and decision.final),
                decision_overturned=bool(decision and decision.overturned),
                decision_superseded=bool(decision and decision.superseded),
                decision_date=decision.decided_on if decision else None,
                appeal_window_end=decision.appeal_window_end if decision else None,
                appeal_state=appeal,
                current_status_kind=status_kind,
                proposed_by=entry.proposed_by,
                verified_by=verifiers[k] if verifiers is not None else entry.verified_by,
                policy_refusal=refusal,
                quality_hold=hold,
            )
        )
    return out


def _json_set(stored: str | None) -> frozenset[str]:
    """A JSON list column as stored (cast to text), as a set; empty for NULL or ``null``."""
    return frozenset(json.loads(stored) or ()) if stored is not None else frozenset()


_IDS: Any = bindparam("ids", expanding=True)
_ON = bindparam("on", type_=Date)
_PRIMARY = str(NameKind.PRIMARY)
#: A person's appeal state (the most open among their current decisions, as
#: ``appeal_state_of``) is worked out in SQL as the least rank in this order.
_APPEAL_ORDER = APPEALS_MOST_OPEN_FIRST
_APPEAL_BY_RANK: dict[int | None, str] = {
    **{k: str(s) for k, s in enumerate(_APPEAL_ORDER)},
    len(_APPEAL_ORDER): str(AppealState.NONE),
    None: str(AppealState.NONE),
}
_LATER_STATUS = aliased(StatusRecord)
_LATER_DECISION = aliased(ImmigrationDecision)
_CURRENT_DECISION = aliased(ImmigrationDecision)
#: The person's current status kind on the day: of the records valid then and not
#: superseded by another of the person's, the last recorded (``None``: no record).
_STATUS_KIND: Any = (
    select(StatusRecord.kind)
    .where(
        StatusRecord.person_id == Person.id,
        StatusRecord.valid_from <= _ON,
        or_(StatusRecord.valid_to.is_(None), StatusRecord.valid_to >= _ON),
        ~exists().where(
            _LATER_STATUS.person_id == StatusRecord.person_id,
            _LATER_STATUS.supersedes_id == StatusRecord.id,
        ),
    )
    .order_by(StatusRecord.recorded_at.desc(), StatusRecord.id.desc())
    .limit(1)
    .correlate(Person)
    .scalar_subquery()
)
#: The rank (``_APPEAL_ORDER``) of the most open appeal state among the person's current
#: decisions (those no other decision of theirs supersedes); NULL when they have none.
_APPEAL_RANK: Any = (
    select(
        func.min(
            case(
                *((_CURRENT_DECISION.appeal_state == s, k) for k, s in enumerate(_APPEAL_ORDER)),
                else_=len(_APPEAL_ORDER),
            )
        )
    )
    .where(
        _CURRENT_DECISION.person_id == Person.id,
        ~exists().where(
            _LATER_DECISION.person_id == _CURRENT_DECISION.person_id,
            _LATER_DECISION.supersedes_id == _CURRENT_DECISION.id,
        ),
    )
    .correlate(Person)
    .scalar_subquery()
)
_GATE_PERSONS: Any = select(
    Person.id,
    Person.date_of_birth,
    cast(Person.categories, Text).label("categories"),
    cast(Person.locks, Text).label("locks"),
    Person.postcode,
    _STATUS_KIND.label("status_kind"),
    _APPEAL_RANK.label("appeal_rank"),
).where(Person.id.in_(_IDS))
_GATE_NAMES: Any = (
    select(PersonName.person_id, PersonName.given, PersonName.family, PersonName.kind)
    .where(PersonName.person_id.in_(_IDS))
    .order_by(PersonName.person_id, PersonName.position, PersonName.id)
)
_DECISION_FACTS = (
    ImmigrationDecision.type,
    ImmigrationDecision.final,
    ImmigrationDecision.overturned,
    ImmigrationDecision.decided_on,
    ImmigrationDecision.appeal_window_end,
    exists().where(_LATER_DECISION.supersedes_id == ImmigrationDecision.id).label("superseded"),
)
_GATE_DECISIONS: Any = select(
    ImmigrationDecision.id, ImmigrationDecision.person_id, *_DECISION_FACTS
).where(ImmigrationDecision.id.in_(_IDS))
#: Active entries as the gate reads them (``WatchlistService._active``): the entry's columns
#: (``GATED``), its person's (``_GATE_PERSONS``') and its decision's (``_GATE_DECISIONS``';
#: NULL when the entry names no decision of that person's), in one row.
_GATE_JOINED: Any = (
    select(*GATED, *list(_GATE_PERSONS.selected_columns)[1:], *_DECISION_FACTS)
    .select_from(WatchlistEntry)
    .join(Person, Person.id == WatchlistEntry.person_id)
    .outerjoin(
        ImmigrationDecision,
        (ImmigrationDecision.id == WatchlistEntry.decision_id)
        & (ImmigrationDecision.person_id == WatchlistEntry.person_id),
    )
)


def _require_discloser(agreement: Agreement, principal: Principal) -> None:
    """Only the disclosing organisation's caseworkers list and verify its people: a recipient
    (or a body outside the agreement) has no standing to choose whose data is sent to it."""
    if principal.organisation_id not in agreement.disclosers():
        raise Forbidden(
            "only caseworkers of an organisation that discloses under this agreement "
            "may put people on its watch list",
            field="agreement_id",
        )


def policy_refusal(session: Session, agreement: Agreement, person_id: uuid.UUID) -> str | None:
    """The policy's refusal kind if a firewall rule or pause stops bulk sharing of this person."""
    request = DisclosureRequest(
        principal=recipient_principal(agreement),
        action="bulk_disclosure",
        agreement_id=agreement.id,
        purpose=agreement.purposes[0] if agreement.purposes else "",
        data_items=tuple(agreement.data_items),
        subject=subject_for(session, person_id),
    )
    decision = decide(session, request)
    return None if decision.allowed else decision.kind


def recipient_principal(agreement: Agreement) -> Principal:
    """The organisation receiving a bulk disclosure under the agreement, as a principal."""
    recipients = agreement.recipients()
    return Principal(
        organisation_id=recipients[0] if recipients else None, roles=frozenset({"partner_user"})
    )

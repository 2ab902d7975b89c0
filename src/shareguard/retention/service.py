"""Retention: legal holds, the resumable run that erases what is past its period, reports.

A run is a row (``RetentionRun``) with the clock it judges by (``as_of``). It advances one
batch per unit of work (``step``), so it shows progress, can be stopped at any point and is
resumed by the next ``start`` (the CLI command or the schedule finds the unfinished run and
goes on with its clock). ``finish`` records what was kept under a legal hold and writes one
audit entry with the counts per agreement and kind, never personal data. Services never
commit: ``retention.tasks`` is the boundary that runs the units.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shareguard.accounts.models import Role
from shareguard.accounts.principal import Principal
from shareguard.agreements import unknown_agreement
from shareguard.agreements.models import Agreement, AgreementState
from shareguard.agreements.retention import ALL_KINDS, RECORD_KINDS, Rule, parse_rule
from shareguard.audit import AuditRecord, append
from shareguard.config import Settings, get_settings
from shareguard.errors import Conflict, InvalidInput, NotFound
from shareguard.retention.kinds import Handler, Target, handlers
from shareguard.retention.models import Erasure, LegalHold, RetentionRun, RunState
from shareguard.status.models import Person
from shareguard.storage.base import utcnow

#: Who may place and release legal holds.
HOLD_ROLES = (Role.CASEWORKER, Role.GOVERNANCE_OFFICER)
#: Who may read runs, holds and retention reports.
READERS = (Role.GOVERNANCE_OFFICER, Role.AUDITOR, Role.CASEWORKER)
#: The key under which operator rules (no agreement) are counted.
OPERATOR = "-"


@dataclass
class Plan:
    """What a run would erase now and what it would keep, per agreement and kind."""

    as_of: datetime
    due: dict[str, dict[str, int]] = field(default_factory=dict)
    held: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total_due(self) -> int:
        return sum(n for kinds in self.due.values() for n in kinds.values())

    @property
    def total_held(self) -> int:
        return sum(n for kinds in self.held.values() for n in kinds.values())


def _add(counts: dict[str, Any], reference: str, kind: str, n: int) -> dict[str, Any]:
    """A copy of ``counts`` with ``n`` added (JSON columns need a new object to be saved)."""
    out = {ref: dict(kinds) for ref, kinds in counts.items()}
    if n:
        out.setdefault(reference, {})
        out[reference][kind] = out[reference].get(kind, 0) + n
    return out


class RetentionService:
    def __init__(self, session: Session, settings: Settings | None = None) -> None:
        self.session = session
        self.settings = settings or get_settings()
        self.handlers: dict[str, Handler] = handlers(self.settings.data_dir)

    # rules ------------------------------------------------------------------------------
    def operator_rules(self) -> dict[str, Rule]:
        return {
            "share_code": parse_rule("share_code", self.settings.retention_share_codes),
            "credential": parse_rule("credential", self.settings.retention_credentials),
        }

    def targets(self, as_of: datetime, scope: str = "") -> list[Target]:
        """Every rule to enforce at ``as_of``: each agreement's, then the operator's; with
        ``scope`` (an agreement's reference) that agreement's only."""
        held = set(
            self.session.scalars(
                select(LegalHold.agreement_id).where(
                    LegalHold.agreement_id.is_not(None), LegalHold.released_at.is_(None)
                )
            )
        )
        stmt = (
            select(Agreement)
            .where(Agreement.state != AgreementState.DRAFT)
            .order_by(Agreement.reference)
        )
        if scope:
            stmt = stmt.where(Agreement.reference == scope)
        out = []
        for a in self.session.scalars(stmt):
            for kind, text in sorted((a.retention_rules or {}).items()):
                if kind not in RECORD_KINDS:
                    continue
                rule = parse_rule(kind, text)
                out.append(Target(kind, a.id, a.reference, rule, rule.cutoff(as_of), a.id in held))
        if not scope:
            for kind, rule in self.operator_rules().items():
                out.append(Target(kind, None, OPERATOR, rule, rule.cutoff(as_of)))
        return out

    def plan(self, as_of: datetime | None = None, scope: str = "") -> Plan:
        """What a run at ``as_of`` (default now) would erase and keep. Reads only."""
        as_of = _aware(as_of or utcnow())
        if scope:
            scope = self._agreement(scope).reference
        plan = Plan(as_of)
        for t in self.targets(as_of, scope):
            handler = self.handlers[t.kind]
            pending = handler.count(self.session, handler.pending(t))
            due = 0 if t.agreement_held else handler.count(self.session, handler.due(t))
            plan.due = _add(plan.due, t.reference, t.kind, due)
            plan.held = _add(plan.held, t.reference, t.kind, pending - due)
        return plan

    # runs -------------------------------------------------------------------------------
    def current(self) -> RetentionRun | None:
        """The unfinished run, if any (the oldest, should two ever have started)."""
        stmt = (
            select(RetentionRun)
            .where(RetentionRun.state == RunState.RUNNING)
            .order_by(RetentionRun.started_at, RetentionRun.id)
        )
        return self.session.scalars(stmt.limit(1)).first()

    def start(
        self,
        as_of: datetime | None = None,
        principal: Principal | None = None,
        scope: str = "",
    ) -> tuple[RetentionRun, bool]:
        """The run to work on: the unfinished one (resumed, with its own clock and scope), or
        a new one (``scope``: one agreement's reference or id, default every rule).

        Returns the run and whether it was resumed. Flushed; the boundary commits.
        """
        found = self.current()
        if found is not None:
            return found, True
        run = RetentionRun(
            scope=self._agreement(scope).reference if scope else "",
            as_of=_aware(as_of or utcnow()),
            started_by=principal.user_id if principal else None,
            counts={},
            held={},
        )
        self.session.add(run)
        self.session.flush()
        return run, False

    def step(self, run_id: uuid.UUID, limit: int | None = None) -> int:
        """Erase the next batch of ``run_id``; returns records erased (0: nothing left).

        One unit of work per call. The run's row is updated first, which serialises steps
        of the same run across processes (a row lock on PostgreSQL, the write lock on
        SQLite); the erasures' unique key stops two runs erasing one record twice.
        """
        bumped = self.session.execute(
            update(RetentionRun)
            .where(RetentionRun.id == run_id, RetentionRun.state == RunState.RUNNING)
            .values(batches=RetentionRun.batches + 1)
            .execution_options(synchronize_session=False)
        )
        if not getattr(bumped, "rowcount", 1):
            return 0
        run = self.session.get(RetentionRun, run_id)
        assert run is not None
        self.session.refresh(run)
        self.session.info["sg_retention_now"] = utcnow()
        for t in self.targets(_aware(run.as_of), run.scope):
            if t.agreement_held:
                continue
            handler = self.handlers[t.kind]
            size = min(limit or handler.batch, handler.batch)
            ids = list(self.session.scalars(handler.due(t).limit(size)))
            if not ids:
                continue
            done = handler.erase(self.session, ids, t, run.id)
            run.counts = _add(run.counts or {}, t.reference, t.kind, done)
            self.session.flush()
            return done
        return 0

    def finish(self, run_id: uuid.UUID) -> RetentionRun:
        """Close the run: count what was kept, and audit the run's counts (no personal data)."""
        run = self.session.get(RetentionRun, run_id)
        if run is None:
            raise NotFound(f"retention run {run_id} not found")
        if run.state == RunState.FINISHED:
            return run
        plan = self.plan(_aware(run.as_of), run.scope)
        run.held = {ref: dict(kinds) for ref, kinds in plan.held.items()}
        run.state = RunState.FINISHED
        run.finished_at = utcnow()
        entry = append(
            self.session,
            AuditRecord(
                action="retention.run",
                actor_user_id=run.started_by,
                details={
                    "run_id": str(run.id),
                    "as_of": _aware(run.as_of).isoformat(),
                    "scope": run.scope or None,
                    "erased": run.counts or {},
                    "held": run.held,
                    "batches": run.batches,
                },
            ),
        )
        run.audit_entry_id = entry.id
        self.session.flush()
        return run

    def runs(self, limit: int = 20) -> list[RetentionRun]:
        stmt = select(RetentionRun).order_by(RetentionRun.started_at.desc(), RetentionRun.id)
        return list(self.session.scalars(stmt.limit(limit)))

    def backlog(self) -> int:
        """Records past their period now and not yet erased (held ones included)."""
        plan = self.plan()
        return plan.total_due + plan.total_held

    # legal holds ------------------------------------------------------------------------
    def place_hold(
        self,
        principal: Principal,
        reason: str,
        *,
        person_id: uuid.UUID | None = None,
        agreement: str | None = None,
    ) -> LegalHold:
        """Hold one person's or one agreement's records from deletion. Audited; flushed."""
        principal.require(*HOLD_ROLES)
        if principal.user_id is None:
            raise InvalidInput("a legal hold needs a named member of staff", field="--as")
        if (person_id is None) == (agreement is None):
            raise InvalidInput("name one person or one agreement", field="person")
        if not reason.strip():
            raise InvalidInput("give the reason for the hold", field="reason")
        agreement_id = None
        if person_id is not None:
            if self.session.get(Person, person_id) is None:
                raise NotFound(f"person {person_id} not found")
        else:
            agreement_id = self._agreement(agreement or "").id
        hold = LegalHold(
            person_id=person_id,
            agreement_id=agreement_id,
            reason=reason.strip()[:2000],
            placed_by=principal.user_id,
            placed_at=utcnow(),
        )
        self.session.add(hold)
        self.session.flush()
        self._audit("retention.hold.place", hold, principal)
        return hold

    def release_hold(self, hold_id: uuid.UUID, principal: Principal, reason: str) -> LegalHold:
        """End a hold: the records go at the next run if past their period. Audited."""
        principal.require(*HOLD_ROLES)
        if principal.user_id is None:
            raise InvalidInput("releasing a hold needs a named member of staff", field="--as")
        if not reason.strip():
            raise InvalidInput("give the reason the hold ends", field="reason")
        hold = self.session.get(LegalHold, hold_id)
        if hold is None:
            raise NotFound(f"legal hold {hold_id} not found")
        if hold.released_at is not None:
            raise Conflict("this hold was already released", field="hold")
        hold.released_at = utcnow()
        hold.released_by = principal.user_id
        hold.release_reason = reason.strip()[:2000]
        self.session.flush()
        self._audit("retention.hold.release", hold, principal)
        return hold

    def holds(self, principal: Principal, *, active: bool = True) -> list[LegalHold]:
        principal.require(*READERS)
        stmt = select(LegalHold).order_by(LegalHold.placed_at.desc(), LegalHold.id)
        if active:
            stmt = stmt.where(LegalHold.released_at.is_(None))
        return list(self.session.scalars(stmt))

    # reports ----------------------------------------------------------------------------
    def report(self, principal: Principal, agreement: str | None = None) -> dict[str, Any]:
        """What was erased and when, per agreement and kind (by UTC day), with the rules."""
        principal.require(*READERS)
        found = self._agreement(agreement) if agreement else None
        stmt = (
            select(
                Erasure.agreement_id,
                Erasure.kind,
                func.min(Erasure.at),
                func.max(Erasure.at),
                func.count(),
            )
            .where(Erasure.part == 0)
            .group_by(Erasure.agreement_id, Erasure.kind)
        )
        if found is not None:
            stmt = stmt.where(Erasure.agreement_id == found.id)
        refs: dict[uuid.UUID, str] = {
            i: r for i, r in self.session.execute(select(Agreement.id, Agreement.reference))
        }
        erased: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for aid, kind, first, last, n in self.session.execute(stmt):
            erased[refs.get(aid, OPERATOR) if aid else OPERATOR].append(
                {
                    "kind": kind,
                    "title": _title(kind),
                    "records": int(n),
                    "first": _aware(first).isoformat(),
                    "last": _aware(last).isoformat(),
                }
            )
        agreements = [found] if found is not None else self._agreements()
        out: list[dict[str, Any]] = []
        for a in agreements:
            out.append(
                {
                    "reference": a.reference,
                    "explanation": a.retention,
                    "rules": dict(a.retention_rules or {}),
                    "erased": sorted(erased.pop(a.reference, []), key=_by_kind),
                }
            )
        if found is None:
            out.append(
                {
                    "reference": OPERATOR,
                    "explanation": "records made under no agreement (operator's settings)",
                    "rules": {k: r.text for k, r in self.operator_rules().items()},
                    "erased": sorted(erased.pop(OPERATOR, []), key=_by_kind),
                }
            )
        runs = [_run_out(r, refs) for r in self.runs(50)]
        if found is not None:
            runs = [
                r for r in runs if found.reference in r["erased"] or found.reference in r["held"]
            ]
        return {"agreements": out, "runs": runs}

    # internals --------------------------------------------------------------------------
    def _agreements(self) -> list[Agreement]:
        stmt = (
            select(Agreement)
            .where(Agreement.state != AgreementState.DRAFT)
            .order_by(Agreement.reference)
        )
        return list(self.session.scalars(stmt))

    def _agreement(self, ref: str) -> Agreement:
        try:
            found = self.session.get(Agreement, uuid.UUID(ref))
        except ValueError:
            found = self.session.scalar(select(Agreement).where(Agreement.reference == ref))
        if found is None:
            raise NotFound(unknown_agreement(ref))
        return found

    def _audit(self, action: str, hold: LegalHold, principal: Principal) -> None:
        # The reason is staff's own words: kept on the hold, never in the log.
        append(
            self.session,
            AuditRecord(
                action=action,
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=hold.agreement_id,
                subject_ref=str(hold.person_id) if hold.person_id else None,
                details={"hold_id": str(hold.id)},
            ),
        )


def deletion_notes(session: Session, entry_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """For "who checked my data": the deletion line of each entry whose record was erased."""
    if not entry_ids:
        return {}
    stmt = (
        select(Erasure.audit_entry_id, Erasure.at, Erasure.kind, Agreement.reference)
        .outerjoin(Agreement, Agreement.id == Erasure.agreement_id)
        .where(Erasure.audit_entry_id.in_(entry_ids))
    )
    notes: dict[uuid.UUID, str] = {}
    for entry_id, at, kind, reference in session.execute(stmt):
        rule = (
            f"the retention rule of {reference}"
            if reference
            else f"the operator's retention rule for {_title(kind).lower()}"
        )
        if entry_id is not None:
            notes[entry_id] = f"details deleted on {_aware(at).date().isoformat()} under {rule}"
    return notes


def _by_kind(row: dict[str, Any]) -> str:
    return str(row["kind"])


def _title(kind: str) -> str:
    if kind == "match_candidate":
        return "Match candidates"
    return ALL_KINDS[kind].title if kind in ALL_KINDS else kind


def _run_out(run: RetentionRun, refs: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "state": run.state,
        "as_of": _aware(run.as_of).isoformat(),
        "scope": run.scope or None,
        "started_at": _aware(run.started_at).isoformat(),
        "finished_at": _aware(run.finished_at).isoformat() if run.finished_at else None,
        "batches": run.batches,
        "erased": run.counts or {},
        "held": run.held or {},
    }


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)

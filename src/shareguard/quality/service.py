"""The data-quality queue: run the rules over the register, queue findings, resolve them.

A finding about a person on the watch list suspends their watch-list entries until every
finding about that person is resolved, so doubtful data is not shared proactively.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.models import User
from shareguard.accounts.principal import Principal
from shareguard.audit import AuditRecord, append
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.matching.models import EntryState, WatchlistEntry
from shareguard.quality import rules
from shareguard.quality.models import FindingState, QualityFinding, QualityRun
from shareguard.status.models import ImmigrationDecision, Person, StatusRecord
from shareguard.storage.base import today, utcnow

#: Days to resolve a finding, by severity.
DUE_DAYS = {"high": 5, "medium": 10, "low": 20}
STAFF = ("reviewer", "caseworker", "governance_officer", "system")
#: Roles a finding's owner may hold.
OWNER_ROLES = ("reviewer", "caseworker", "governance_officer")
ALL_RULES = (*rules.RULES, "likely_duplicates")


def register_snapshot(session: Session, on: date | None = None) -> rules.Register:
    """The register as plain records for the rules (superseded rows marked, not dropped)."""

    persons = [
        {
            "id": str(p.id),
            "date_of_birth": p.date_of_birth,
            "nationality": p.nationality,
            "has_name": bool(p.names),
        }
        for p in session.scalars(select(Person))
    ]
    statuses = list(session.scalars(select(StatusRecord)))
    replaced_s = {str(s.supersedes_id) for s in statuses if s.supersedes_id}
    decisions = list(session.scalars(select(ImmigrationDecision)))
    replaced_d = {str(d.supersedes_id) for d in decisions if d.supersedes_id}
    return rules.Register(
        persons=persons,
        status_records=[
            {
                "id": str(s.id),
                "person_id": str(s.person_id),
                "kind": s.kind,
                "valid_from": s.valid_from,
                "valid_to": s.valid_to,
                "may_work": s.may_work,
                "may_rent": s.may_rent,
                "public_funds": s.public_funds,
                "work_conditions": s.work_conditions,
                "source": s.source,
                "evidence_ref": s.evidence_ref,
                "superseded": str(s.id) in replaced_s,
            }
            for s in statuses
        ],
        decisions=[
            {
                "id": str(d.id),
                "person_id": str(d.person_id),
                "type": d.type,
                "decided_on": d.decided_on,
                "final": d.final,
                "appeal_state": d.appeal_state,
                "overturned": d.overturned,
                "source": d.source,
                "evidence_ref": d.evidence_ref,
                "superseded": str(d.id) in replaced_d,
            }
            for d in decisions
        ],
        watch_list=watch_list_entries(session),
        on=on or today(),
    )


def watch_list_entries(
    session: Session, person_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Watch-list entries as ``{id, person_id, decision_id, active}`` (matching's table)."""

    stmt = select(WatchlistEntry)
    if person_id is not None:
        stmt = stmt.where(WatchlistEntry.person_id == person_id)
    return [
        {
            "id": str(e.id),
            "person_id": str(e.person_id),
            "decision_id": str(e.decision_id) if e.decision_id else "",
            "active": e.state == EntryState.ACTIVE,
        }
        for e in session.scalars(stmt)
    ]


def persons_for_dedupe(session: Session) -> list[dict[str, Any]]:

    out = []
    for p in session.scalars(select(Person)):
        name = p.primary_name()
        out.append(
            {
                "unique_id": str(p.id),
                "first_name": name.given if name else None,
                "surname": name.family if name else None,
                "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
                "postcode": p.postcode or None,
            }
        )
    return out


class QualityService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def run(
        self,
        principal: Principal,
        *,
        only: Sequence[str] | None = None,
        trigger: str = "on_demand",
        on: date | None = None,
    ) -> QualityRun:
        """Run the rules; queue new findings (an open finding is not raised twice).

        Raises InvalidInput for an unknown rule. Suspends watch-list entries of persons with
        new findings. One unit of work (the boundary commits it).
        """
        principal.require(*STAFF)
        names = list(only) if only else list(ALL_RULES)
        unknown = sorted(set(names) - set(ALL_RULES))
        if unknown:
            raise InvalidInput(f"unknown rule; known: {', '.join(ALL_RULES)}", field="rules")
        if trigger not in {"on_demand", "schedule"}:
            raise InvalidInput("trigger must be on_demand or schedule", field="trigger")
        found = rules.run_rules(register_snapshot(self.session, on), names)
        if "likely_duplicates" in names:
            # Splink and pandas load only when a run looks for duplicates.
            from shareguard.quality.dedupe import likely_duplicates

            found += rules.duplicate_findings(likely_duplicates(persons_for_dedupe(self.session)))
        run = QualityRun(trigger=trigger, rules=names, actor_id=principal.user_id)
        self.session.add(run)
        self.session.flush()
        open_keys = {
            (f.rule, f.record_kind, f.record_id)
            for f in self.session.scalars(
                select(QualityFinding).where(QualityFinding.state == FindingState.OPEN)
            )
        }
        counts: dict[str, int] = {}
        new = 0
        for f in found:
            counts[f.rule] = counts.get(f.rule, 0) + 1
            key = (f.rule, f.record_kind, f.record_id)
            if key in open_keys:
                continue
            open_keys.add(key)
            self._queue(run, f, on or today())
            new += 1
        run.counts = counts
        run.new_findings = new
        run.finished_at = utcnow()
        append(
            self.session,
            AuditRecord(
                action="quality.run",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                details={"run": str(run.id), "new_findings": new, "counts": counts},
            ),
        )
        self.session.flush()
        return run

    def _queue(self, run: QualityRun, f: rules.Finding, on: date) -> QualityFinding:
        person_id = _uuid_or_none(f.person_id)
        row = QualityFinding(
            run_id=run.id,
            rule=f.rule,
            record_kind=f.record_kind,
            record_id=f.record_id,
            person_id=person_id,
            message=f.message,
            severity=f.severity,
            owner_id=self._next_owner(),
            due_date=on + timedelta(days=DUE_DAYS.get(f.severity, 10)),
        )
        self.session.add(row)
        self.session.flush()
        if person_id is not None:
            row.suspended_entries = suspend_watch_list(self.session, person_id, row.id)
        return row

    def _next_owner(self) -> uuid.UUID | None:
        """The active reviewer with the fewest open findings (ties: by email)."""
        reviewers = [
            u
            for u in self.session.scalars(select(User).where(User.active.is_(True)))
            if "reviewer" in (u.roles or [])
        ]
        if not reviewers:
            return None
        load = dict(
            self.session.execute(
                select(QualityFinding.owner_id, func.count())
                .where(QualityFinding.state == FindingState.OPEN)
                .group_by(QualityFinding.owner_id)
            ).all()
        )
        self.session.flush()
        return min(reviewers, key=lambda u: (load.get(u.id, 0), u.email)).id

    def findings(
        self,
        principal: Principal,
        *,
        state: str | None = FindingState.OPEN,
        owner_id: uuid.UUID | None = None,
        rule: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[QualityFinding]:
        """The queue, most urgent first."""
        principal.require(*STAFF, "auditor")
        stmt = select(QualityFinding).where(*_finding_filter(state, owner_id, rule))
        stmt = stmt.order_by(QualityFinding.due_date, QualityFinding.id)
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def count_findings(
        self,
        principal: Principal,
        *,
        state: str | None = FindingState.OPEN,
        owner_id: uuid.UUID | None = None,
        rule: str | None = None,
    ) -> int:
        """How many findings ``findings`` pages through (a count query; never capped)."""
        principal.require(*STAFF, "auditor")
        stmt = select(func.count()).select_from(QualityFinding)
        stmt = stmt.where(*_finding_filter(state, owner_id, rule))
        return int(self.session.scalar(stmt) or 0)

    def finding(self, finding_id: uuid.UUID, principal: Principal) -> QualityFinding:
        principal.require(*STAFF, "auditor")
        row = self.session.get(QualityFinding, finding_id)
        if row is None:
            raise NotFound(f"finding {finding_id} not found")
        return row

    def owners(self, organisation_id: uuid.UUID | None) -> list[User]:
        """Who may own a finding: active reviewers, caseworkers and officers of the organisation."""
        stmt = select(User).where(User.active.is_(True), User.organisation_id == organisation_id)
        users = self.session.scalars(stmt.order_by(User.display_name, User.email))
        return [u for u in users if set(u.roles or []) & set(OWNER_ROLES)]

    def assign(
        self,
        finding_id: uuid.UUID,
        owner_id: uuid.UUID,
        principal: Principal,
        *,
        due_date: date | None = None,
    ) -> QualityFinding:
        """Give an open finding an owner from the assigner's organisation, and maybe a due date."""
        principal.require(*STAFF)  # auditors read the queue but do not run it
        row = self.finding(finding_id, principal)
        if row.state != FindingState.OPEN:
            raise Conflict("this finding is already closed", field="state")
        if owner_id not in {u.id for u in self.owners(principal.organisation_id)}:
            raise InvalidInput(
                "the owner must be an active reviewer, caseworker or governance officer "
                "of your organisation",
                field="owner_id",
            )
        if due_date is not None and due_date < today():
            raise InvalidInput("the due date must be today or in the future", field="due_date")
        row.owner_id = owner_id
        if due_date is not None:
            row.due_date = due_date
        append(
            self.session,
            AuditRecord(
                action="quality.assign",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                details={"finding": str(row.id), "owner": str(owner_id)},
            ),
        )
        self.session.flush()
        return row

    def resolve(
        self,
        finding_id: uuid.UUID,
        principal: Principal,
        resolution: str,
        *,
        dismiss: bool = False,
    ) -> QualityFinding:
        """Close a finding with a note; resumes watch-list entries once none stays open."""
        principal.require(*STAFF)
        if not resolution or not resolution.strip():
            raise InvalidInput("say how the finding was resolved", field="resolution")
        row = self.finding(finding_id, principal)
        if row.state != FindingState.OPEN:
            raise Conflict("this finding is already closed")
        if principal.user_id is None and "system" not in principal.roles:
            raise Forbidden("a named user must resolve findings")
        row.state = FindingState.DISMISSED if dismiss else FindingState.RESOLVED
        row.resolved_at = utcnow()
        row.resolved_by = principal.user_id
        row.resolution = resolution.strip()
        self.session.flush()
        if row.person_id is not None and not self.open_for_person(row.person_id):
            resume_watch_list(self.session, row.person_id, row.id)
        append(
            self.session,
            AuditRecord(
                action="quality.resolve",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                subject_ref=str(row.person_id) if row.person_id else None,
                details={"finding": str(row.id), "rule": row.rule, "state": row.state},
            ),
        )
        self.session.flush()
        return row

    def open_for_person(self, person_id: uuid.UUID) -> list[QualityFinding]:
        stmt = select(QualityFinding).where(
            QualityFinding.person_id == person_id, QualityFinding.state == FindingState.OPEN
        )
        return list(self.session.scalars(stmt))

    def runs(self, principal: Principal, limit: int = 20) -> list[QualityRun]:
        principal.require(*STAFF, "auditor")
        stmt = select(QualityRun).order_by(QualityRun.started_at.desc()).limit(limit)
        return list(self.session.scalars(stmt))


def is_suspended(session: Session, person_id: uuid.UUID) -> bool:
    """True while an open data-quality finding concerns the person (the watch-list gate asks)."""
    stmt = (
        select(QualityFinding.id)
        .where(QualityFinding.person_id == person_id, QualityFinding.state == FindingState.OPEN)
        .limit(1)
    )
    return session.scalar(stmt) is not None


def _finding_filter(state: str | None, owner_id: uuid.UUID | None, rule: str | None) -> list[Any]:
    where: list[Any] = []
    if state:
        where.append(QualityFinding.state == state)
    if owner_id:
        where.append(QualityFinding.owner_id == owner_id)
    if rule:
        where.append(QualityFinding.rule == rule)
    return where


def suspended_persons(session: Session, person_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """``is_suspended`` for many persons: those with an open finding (one query per 500)."""
    ids = list(dict.fromkeys(person_ids))
    out: set[uuid.UUID] = set()
    for i in range(0, len(ids), 500):
        stmt = select(QualityFinding.person_id).where(
            QualityFinding.person_id.in_(ids[i : i + 500]),
            QualityFinding.state == FindingState.OPEN,
        )
        out.update(p for p in session.scalars(stmt) if p is not None)
    return out


def suspend_watch_list(session: Session, person_id: uuid.UUID, finding_id: uuid.UUID) -> list[str]:
    """The person's active watch-list entries, now held by this finding; returns their ids.

    The hold itself is the open finding: the watch-list gate asks ``is_suspended`` each time
    the list is read, so the entries stay out of match runs until the finding is resolved.
    """
    ids = [str(e["id"]) for e in watch_list_entries(session, person_id) if e["active"]]
    if ids:
        append(
            session,
            AuditRecord(
                action="quality.suspend",
                subject_ref=str(person_id),
                details={"finding": str(finding_id), "entries": ids},
            ),
        )
    return ids


def resume_watch_list(session: Session, person_id: uuid.UUID, finding_id: uuid.UUID) -> list[str]:
    """Record that the person's held entries are released (no finding about them is open)."""
    ids = [str(e["id"]) for e in watch_list_entries(session, person_id) if e["active"]]
    if ids:
        append(
            session,
            AuditRecord(
                action="quality.resume",
                subject_ref=str(person_id),
                details={"finding": str(finding_id), "entries": ids},
            ),
        )
    return ids


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def counts_by_rule(findings: Iterable[QualityFinding]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.rule] = out.get(f.rule, 0) + 1
    return out

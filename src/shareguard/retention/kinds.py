"""What retention does to each kind of record: which rows are past their period, which are
kept (a legal hold, still in use), and how a batch of them is erased.

Every handler works in set-based statements over ids (no row read into Python per record
beyond its id), inside the caller's unit of work; files are removed inside the unit too, so a
unit that rolls back leaves a record whose file may already be gone (every reader copes with
a missing file) and the next run erases it again. The audit log is never touched.

The retention package is the one writer that reaches into other capabilities' tables: it only
ever blanks personal data (or deletes share codes), never adds or changes a fact.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    ColumnElement,
    String,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from shareguard.agreements.retention import Rule
from shareguard.checks.models import Case, CaseState, Check
from shareguard.credentials.models import Credential
from shareguard.exchange.models import ExchangeRequest, InboundRecord, InboundState, RequestState
from shareguard.matching.models import Candidate, MatchRun, PartnerDataset, Review, RunState
from shareguard.policy.models import Disclosure
from shareguard.retention.models import Erasure, LegalHold
from shareguard.status.models import ShareCode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """One rule to enforce: records of ``kind`` under one agreement (or the operator's)."""

    kind: str
    #: None for kinds made under no agreement (share codes, credentials).
    agreement_id: uuid.UUID | None
    #: The agreement's reference, or "-" for the operator's own rules.
    reference: str
    rule: Rule
    cutoff: datetime
    #: A legal hold on the whole agreement: nothing of it is erased.
    agreement_held: bool = False


def not_erased(kind: str, record_id: Any) -> ColumnElement[bool]:
    return ~exists().where(Erasure.kind == kind, Erasure.record_id == record_id)


def not_held(person_id: Any) -> ColumnElement[bool]:
    """No legal hold on the person (or no person)."""
    held = exists().where(LegalHold.person_id == person_id, LegalHold.released_at.is_(None))
    return or_(person_id.is_(None), ~held)


def _in_data_dir(path: str, data_dir: Path) -> Path | None:
    """The path, if it lies inside the data directory (retention never deletes elsewhere)."""
    if not path:
        return None
    target = Path(path).resolve()
    if not target.is_relative_to(data_dir.resolve()):
        log.warning("retention left a file outside the data directory alone")
        return None
    return target


def _blank_disclosures(session: Session, ids: Any) -> None:
    session.execute(
        update(Disclosure)
        .where(Disclosure.id.in_(ids))
        .values(subject_ref=None, record_refs=[])
        .execution_options(synchronize_session=False)
    )


class Handler:
    """One kind of record. Subclasses say where its rows are and how they are erased."""

    kind: ClassVar[str]
    #: Records erased in one unit of work (a match run counts as one record).
    batch: ClassVar[int] = 500

    def pending(self, target: Target) -> Any:
        """SELECT of the ids past their period and not yet erased (held or not)."""
        raise NotImplementedError

    def due(self, target: Target) -> Any:
        """``pending`` minus what is held (a person's legal hold) or still in use."""
        raise NotImplementedError

    def erase(
        self, session: Session, ids: Sequence[uuid.UUID], target: Target, run_id: uuid.UUID
    ) -> int:
        """Erase these records and record the erasures; returns records erased."""
        raise NotImplementedError

    # shared ------------------------------------------------------------------------------
    def count(self, session: Session, stmt: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)

    def record(
        self,
        session: Session,
        run_id: uuid.UUID,
        target: Target,
        rows: Sequence[tuple[uuid.UUID, uuid.UUID | None, int]],
        kind: str | None = None,
    ) -> None:
        """Erasure rows: (record id, audit entry id, part)."""
        if not rows:
            return
        session.execute(
            insert(Erasure),
            [
                {
                    "run_id": run_id,
                    "kind": kind or self.kind,
                    "record_id": rid,
                    "part": part,
                    "agreement_id": target.agreement_id,
                    "audit_entry_id": entry,
                    "at": target_now(session),
                }
                for rid, entry, part in rows
            ],
        )


def target_now(session: Session) -> datetime:
    """The erasure time: the run's clock, set on the session by the service."""
    at: datetime = session.info["sg_retention_now"]
    return at


class Checks(Handler):
    kind = "check"

    def pending(self, target: Target) -> Any:
        return select(Check.id).where(
            Check.agreement_id == target.agreement_id,
            Check.at < target.cutoff,
            not_erased(self.kind, Check.id),
        )

    def due(self, target: Target) -> Any:
        open_case = exists().where(Case.check_id == Check.id, Case.state == CaseState.OPEN)
        return self.pending(target).where(not_held(Check.person_id), ~open_case)

    def erase(
        self, session: Session, ids: Sequence[uuid.UUID], target: Target, run_id: uuid.UUID
    ) -> int:
        rows = session.execute(
            select(Check.id, Check.audit_entry_id, Check.disclosure_id).where(Check.id.in_(ids))
        ).all()
        _blank_disclosures(session, [r.disclosure_id for r in rows if r.disclosure_id])
        session.execute(
            update(Case)
            .where(Case.check_id.in_(ids))
            .values(statement="", outcome_note="", person_id=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Check)
            .where(Check.id.in_(ids))
            .values(person_id=None, score=None)
            .execution_options(synchronize_session=False)
        )
        self.record(session, run_id, target, [(r.id, r.audit_entry_id, 0) for r in rows])
        return len(rows)


class MatchRuns(Handler):
    kind = "match_run"
    batch = 1  # a run's candidates go in one set-based pass; one run per unit of work

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def pending(self, target: Target) -> Any:
        ended = func.coalesce(MatchRun.finished_at, MatchRun.created_at)
        return select(MatchRun.id).where(
            MatchRun.agreement_id == target.agreement_id,
            MatchRun.state.in_([RunState.SUCCEEDED, RunState.FAILED]),
            ended < target.cutoff,
            not_erased(self.kind, MatchRun.id),
        )

    def due(self, target: Target) -> Any:
        # A legal hold on anyone in the run keeps the whole run: its files hold them too.
        held = exists().where(
            Candidate.run_id == MatchRun.id,
            exists().where(
                LegalHold.person_id == Candidate.person_id, LegalHold.released_at.is_(None)
            ),
        )
        return self.pending(target).where(~held)

    def erase(
        self, session: Session, ids: Sequence[uuid.UUID], target: Target, run_id: uuid.UUID
    ) -> int:
        now = target_now(session)
        in_runs = select(Candidate.id).where(Candidate.run_id.in_(ids))
        # Erasure rows for every candidate, with the audit entry of its disclosure (if any).
        session.execute(
            insert(Erasure).from_select(
                ["run_id", "kind", "record_id", "part", "agreement_id", "audit_entry_id", "at"],
                select(
                    literal(run_id, Erasure.run_id.type),
                    literal("match_candidate", String()),
                    Candidate.id,
                    literal(0),
                    literal(target.agreement_id, Erasure.agreement_id.type),
                    Disclosure.audit_entry_id,
                    literal(now, Erasure.at.type),
                )
                .select_from(Candidate)
                .outerjoin(Disclosure, Disclosure.id == Candidate.disclosure_id)
                .where(Candidate.run_id.in_(ids)),
            )
        )
        _blank_disclosures(
            session,
            select(Candidate.disclosure_id).where(
                Candidate.run_id.in_(ids), Candidate.disclosure_id.is_not(None)
            ),
        )
        session.execute(
            update(Review)
            .where(Review.candidate_id.in_(in_runs))
            .values(note="")
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Candidate)
            .where(Candidate.run_id.in_(ids))
            # Unique per run and person, so each keeps a distinct placeholder.
            .values(
                explanation=[],
                partner_record_id=literal("erased-") + cast(Candidate.id, String()),
            )
            .execution_options(synchronize_session=False)
        )
        for (out_dir,) in session.execute(select(MatchRun.out_dir).where(MatchRun.id.in_(ids))):
            folder = _in_data_dir(out_dir, self.data_dir)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        session.execute(
            update(MatchRun)
            .where(MatchRun.id.in_(ids))
            .values(out_dir="")
            .execution_options(synchronize_session=False)
        )
        self.record(session, run_id, target, [(i, None, 0) for i in ids])
        return len(ids)


class PartnerDatasets(Handler):
    kind = "partner_dataset"
    batch = 50

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def pending(self, target: Target) -> Any:
        return select(PartnerDataset.id).where(
            PartnerDataset.agreement_id == target.agreement_id,
            PartnerDataset.created_at < target.cutoff,
            not_erased(self.kind, PartnerDataset.id),
        )

    def due(self, target: Target) -> Any:
        in_use = exists().where(
            MatchRun.dataset_id == PartnerDataset.id,
            MatchRun.state.in_([RunState.QUEUED, RunState.RUNNING]),
        )
        return self.pending(target).where(~in_use)

    def erase(
        self, session: Session, ids: Sequence[uuid.UUID], target: Target, run_id: uuid.UUID
    ) -> int:
        rows = session.execute(
            select(PartnerDataset.id, PartnerDataset.path, PartnerDataset.quarantine_path).where(
                PartnerDataset.id.in_(ids)
            )
        ).all()
        for row in rows:
            for path in (row.path, row.quarantine_path or ""):
                found = _in_data_dir(path, self.data_dir)
                if found is not None:
                    found.unlink(missing_ok=True)
        session.execute(
            update(PartnerDataset)
            .where(PartnerDataset.id.in_(ids))
            .values(path="", quarantine_path=None)
            .execution_options(synchronize_session=False)
        )
        self.record(session, run_id, target, [(r.id, None, 0) for r in rows])
        return len(rows)


class Requests(Handler):
    kind = "request"

    def _event(self, target: Target) -> Any:
        if target.rule.event == "request":
            return ExchangeRequest.created_at
        # A refused request closed when it was made; the others when answered.
        return func.coalesce(ExchangeRequest.answered_at, ExchangeRequest.created_at)

    def pending(self, target: Target) -> Any:
        return select(ExchangeRequest.id).where(
            ExchangeRequest.agreement_id == target.agreement_id,
            self._event(target) < target.cutoff,
            not_erased(self.kind, ExchangeRequest.id),
        )

    def due(self, target: Target) -> Any:
        return self.pending(target).where(
            ExchangeRequest.state != RequestState.OPEN, not_held(ExchangeRequest.person_id)
        )

    def erase(
        self, session: Session, ids: Sequence[uuid.UUID], target: Target, run_id: uuid.UUID
    ) -> int:
        rows = session.execute(
            select(
                ExchangeRequest.id,
                ExchangeRequest.request_entry_id,
                ExchangeRequest.answer_entry_id,
                ExchangeRequest.request_disclosure_id,
                ExchangeRequest.answer_disclosure_id,
            ).where(ExchangeRequest.id.in_(ids))
        ).all()
        disclosures = [
            d for r in rows for d in (r.request_disclosure_id, r.answer_disclosure_id) if d
        ]
        _blank_disclosures(session, disclosures)
        session.execute(
            update(ExchangeRequest)
            .where(ExchangeRequest.id.in_(ids))
            .values(answer=null(), reason="", proportionality="", answer_note="")
            .execution_options(synchronize_session=False)
        )
        marks = [(r.id, r.request_entry_id, 0) for r in rows]
        marks += [(r.id, r.answer_entry_id, 1) for r in rows if r.answer_entry_id]
        self.record(session, run_id, target, marks)
        return len(rows)


class Inbound(Handler):
    kind = "inbound"

    def _event(self, target: Target) -> Any:
        if target.rule.event == "decision":
            return InboundRecord.decided_at
        return InboundRecord.created_at

    def pending(self, target: Target) -> Any:
        return select(InboundRecord.id).where(
            InboundRecord.agreement_id == target.agreement_id,
            self._event(target) < target.cutoff,
            not_erased(self.kind, InboundRecord.id),
        )

    def due(self, target: Target) -> Any:
        return self.pending(target).where(
            InboundRecord.state != InboundState.PROPOSED, not_held(InboundRecord.person_id)
        )

    def erase(
        self, session: Session, ids: Sequence[uuid.UUID], target: Target, run_id: uuid.UUID
    ) -> int:
        rows = session.execute(
            select(
                InboundRecord.id, InboundRecord.audit_entry_id, InboundRecord.disclosure_id
            ).where(InboundRecord.id.in_(ids))
        ).all()
        _blank_disclosures(session, [r.disclosure_id for r in rows if r.disclosure_id])
        session.execute(
            update(InboundRecord)
            .where(InboundRecord.id.in_(ids))
            .values(data={}, partner_record_id="", person_id=None, findings=[], note="")
            .execution_options(synchronize_session=False)
        )
        self.record(session, run_id, target, [(r.id, r.audit_entry_id, 0) for r in rows])
        return len(rows)


class ShareCodes(Handler):
    kind = "share_code"

    def pending(self, target: Target) -> Any:
        return select(ShareCode.id).where(
            or_(ShareCode.expires_at < target.cutoff, ShareCode.revoked_at < target.cutoff),
            not_erased(self.kind, ShareCode.id),
        )

    def due(self, target: Target) -> Any:
        return self.pending(target).where(not_held(ShareCode.person_id))

    def erase(
        self, session: Session, ids: Sequence[uuid.UUID], target: Target, run_id: uuid.UUID
    ) -> int:
        found = list(session.scalars(select(ShareCode.id).where(ShareCode.id.in_(ids))))
        session.execute(
            delete(ShareCode)
            .where(ShareCode.id.in_(found))
            .execution_options(synchronize_session=False)
        )
        self.record(session, run_id, target, [(i, None, 0) for i in found])
        return len(found)


class Credentials(Handler):
    kind = "credential"

    def pending(self, target: Target) -> Any:
        return select(Credential.id).where(
            or_(Credential.valid_until < target.cutoff, Credential.revoked_at < target.cutoff),
            not_erased(self.kind, Credential.id),
        )

    def due(self, target: Target) -> Any:
        return self.pending(target).where(not_held(Credential.person_id))

    def erase(
        self, session: Session, ids: Sequence[uuid.UUID], target: Target, run_id: uuid.UUID
    ) -> int:
        found = list(session.scalars(select(Credential.id).where(Credential.id.in_(ids))))
        session.execute(
            update(Credential)
            .where(Credential.id.in_(found))
            .values(token="")
            .execution_options(synchronize_session=False)
        )
        self.record(session, run_id, target, [(i, None, 0) for i in found])
        return len(found)


def handlers(data_dir: Path) -> dict[str, Handler]:
    """Every kind's handler, keyed by kind."""
    found: list[Handler] = [
        Checks(),
        MatchRuns(data_dir),
        PartnerDatasets(data_dir),
        Requests(),
        Inbound(),
        ShareCodes(),
        Credentials(),
    ]
    return {h.kind: h for h in found}

"""Review and adverse actions: the queue of candidate matches, a reviewer's side-by-side view
and decision, and a partner's report of an adverse action — refused (and audited) unless a
review confirmed the match first (no automated adverse action, DESIGN §4)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.audit import AuditRecord, append
from shareguard.errors import InvalidInput, NotFound, Refused, keep_audit
from shareguard.matching import access
from shareguard.matching.imports import ImportService
from shareguard.matching.models import AdverseAction, Candidate, MatchRun, Review, ReviewOutcome
from shareguard.matching.runs import RunService
from shareguard.status.models import Person
from shareguard.storage.base import utcnow

ADVERSE_KINDS = ("licence_revoked", "account_closed", "benefit_stopped", "other")


class ReviewService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.runs = RunService(session)
        # Runs and agreements read by this service's unit of work, held so that reviewing
        # many candidates of one run does not read the run and its agreement again each time
        # (the session's identity map keeps only what something else still holds).
        self._run_cache: dict[uuid.UUID, MatchRun] = {}
        self._agreement_cache: dict[uuid.UUID, Agreement] = {}

    def _run(self, run_id: uuid.UUID) -> MatchRun:
        run = self._run_cache.get(run_id)
        if run is None:
            run = self._run_cache[run_id] = self.runs.run(run_id)
        return run

    def _agreement(self, agreement_id: uuid.UUID) -> Agreement:
        agreement = self._agreement_cache.get(agreement_id)
        if agreement is None:
            agreement = self._agreement_cache[agreement_id] = access.agreement(
                self.session, agreement_id
            )
        return agreement

    # review ------------------------------------------------------------------------
    def candidate(self, candidate_id: uuid.UUID) -> Candidate:
        row = self.session.get(Candidate, candidate_id)
        if row is None:
            raise NotFound(f"candidate {candidate_id} not found")
        return row

    def queue(
        self,
        principal: Principal,
        run_id: uuid.UUID | None = None,
        state: str = "pending",
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Candidate], int]:
        """Candidates waiting for review, strongest first."""
        principal.require(access.REVIEWER, *access.STAFF)
        stmt = select(Candidate).where(Candidate.review_state == state)
        if run_id:
            stmt = stmt.where(Candidate.run_id == run_id)
        total = self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = self.session.scalars(
            stmt.order_by(Candidate.match_probability.desc(), Candidate.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows), total

    def side_by_side(self, candidate_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
        """Both records and the explanation, for a reviewer (an internal view, not a disclosure)."""
        principal.require(access.REVIEWER, *access.STAFF)
        cand = self.candidate(candidate_id)
        run = self.runs.run(cand.run_id)
        person = self.session.get(Person, cand.person_id)
        assert person is not None
        dataset = ImportService(self.session).dataset(run.dataset_id)
        # The file can be gone (retention, or the demo's replayed history has none): the
        # reviewer still sees the watch-list side and the explanation.
        held = bool(dataset.path) and Path(dataset.path).is_file()
        partner: dict[str, Any] = {}
        if held:
            table = pq.read_table(
                dataset.path, filters=pc.field("record_id") == cand.partner_record_id
            )
            partner = table.to_pylist()[0] if table.num_rows else {}
        name = person.primary_name()
        return {
            "candidate_id": str(cand.id),
            "run_id": str(run.id),
            "match_probability": cand.match_probability,
            "match_weight": cand.match_weight,
            "band": cand.band,
            "review_state": cand.review_state,
            "explanation": cand.explanation,
            "watchlist": {
                "person_id": str(person.id),
                "given": name.given if name else None,
                "family": name.family if name else None,
                "other_names": [f"{n.given} {n.family}" for n in person.names if n is not name],
                "date_of_birth": person.date_of_birth.isoformat(),
                "postcode": person.postcode or None,
            },
            "partner": {
                "record_id": cand.partner_record_id,
                "held": held,
                "first_name": partner.get("first_name"),
                "middle_names": partner.get("middle_names"),
                "surname": partner.get("surname"),
                "date_of_birth": partner.get("date_of_birth"),
                "postcode": partner.get("postcode"),
            },
            "reviews": [
                {
                    "outcome": r.outcome,
                    "reviewer_id": str(r.reviewer_id),
                    "at": r.at.isoformat(),
                    "note": r.note,
                }
                for r in cand.reviews
            ],
        }

    def review(
        self, candidate_id: uuid.UUID, outcome: str, principal: Principal, note: str = ""
    ) -> Candidate:
        """Record a reviewer's decision: same person, not the same, or need more information."""
        principal.require(access.REVIEWER)
        if outcome not in {o.value for o in ReviewOutcome}:
            raise InvalidInput("outcome must be same, not_same or need_info", field="outcome")
        cand = self.candidate(candidate_id)
        review = Review(
            candidate_id=cand.id,
            reviewer_id=principal.user_id,
            outcome=outcome,
            note=note[:2000],
            at=utcnow(),
        )
        # Kept in the loaded collection (ordered by time) rather than reloading the candidate
        # and every review after the flush; reloaded only if it would not be the latest.
        latest = max((r.at for r in cand.reviews), default=None)
        cand.reviews.append(review)
        self.session.flush()
        if latest is not None and latest > review.at:
            self.session.refresh(cand)
        run = self._run(cand.run_id)
        cand.review_state = review_state(cand.reviews, run.two_person_rule)
        append(
            self.session,
            AuditRecord(
                action="matching.review",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=run.agreement_id,
                subject_ref=str(cand.person_id),
                decision=outcome,
                details={
                    "candidate_id": str(cand.id),
                    "run_id": str(run.id),
                    "state": cand.review_state,
                },
            ),
        )
        self.session.flush()
        return cand

    # adverse actions ---------------------------------------------------------------
    def report_adverse_action(
        self, candidate_id: uuid.UUID, kind: str, contest_route: str, principal: Principal
    ) -> AdverseAction:
        """A partner reports an adverse outcome; refused unless the match has a confirmed review."""
        cand = self.candidate(candidate_id)
        run = self._run(cand.run_id)
        agreement = self._agreement(run.agreement_id)
        if principal.organisation_id not in agreement.recipients() or cand.disclosure_id is None:
            raise NotFound(f"candidate {candidate_id} not found")
        if kind not in ADVERSE_KINDS:
            raise InvalidInput(f"kind must be one of: {', '.join(ADVERSE_KINDS)}", field="kind")
        if not contest_route.strip():
            raise InvalidInput("say how the person can contest the action", field="contest_route")
        allowed = confirmed(cand.reviews, run.two_person_rule)
        # One record for both outcomes: a refusal keeps it (keep_audit), a permit writes it
        # with the action.
        record = AuditRecord(
            action="matching.adverse_action",
            actor_org_id=principal.organisation_id,
            actor_user_id=principal.user_id,
            agreement_id=agreement.id,
            subject_ref=str(cand.person_id),
            decision="permit" if allowed else "deny",
            reasons=() if allowed else ("no_confirmed_review",),
            details={"candidate_id": str(cand.id), "kind": kind},
        )
        if not allowed:
            need = (
                "two reviewers' confirmation"
                if run.two_person_rule
                else "a reviewer's confirmation"
            )
            append(self.session, record)
            raise keep_audit(
                Refused(
                    f"no adverse action without {need} that this is the same person",
                    field="candidate_id",
                )
            )
        action = AdverseAction(
            candidate_id=cand.id,
            agreement_id=agreement.id,
            organisation_id=principal.organisation_id,
            kind=kind,
            contest_route=contest_route.strip(),
        )
        self.session.add(action)
        append(self.session, record)
        self.session.flush()
        return action

    def adverse_actions(self, agreement_id: uuid.UUID) -> list[AdverseAction]:
        return list(
            self.session.scalars(
                select(AdverseAction)
                .where(AdverseAction.agreement_id == agreement_id)
                .order_by(AdverseAction.reported_at)
            )
        )


def review_state(reviews: Sequence[Review], two_person_rule: bool) -> str:
    """The candidate's state from its reviews: the latest word wins, unless it needs a second."""
    if not reviews:
        return "pending"
    latest = reviews[-1].outcome
    if latest == ReviewOutcome.SAME and not confirmed(reviews, two_person_rule):
        return "pending"
    return latest


def confirmed(reviews: Sequence[Review], two_person_rule: bool) -> bool:
    """Same person, by one reviewer — or two different reviewers under the two-person rule —
    with no later "not the same" or "need more information"."""
    latest: dict[uuid.UUID | None, str] = {}
    for r in reviews:
        latest[r.reviewer_id] = r.outcome
    if not reviews or reviews[-1].outcome != ReviewOutcome.SAME:
        return False
    if any(o != ReviewOutcome.SAME for o in latest.values()):
        return False
    return len([k for k, o in latest.items() if o == ReviewOutcome.SAME]) >= (
        2 if two_person_rule else 1
    )

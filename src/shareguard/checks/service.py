"""Real-time checks: by share code or by attributes (cases and contests: ``checks.cases``).

Every answer about a person leaves through the one door (``policy.disclose``); answers that
carry nothing about anyone ("no match", a referral with no candidate) are audited directly.
One public method is one unit of work: it flushes, and the request or CLI boundary commits it,
answer and audit entry together. A refusal that keeps its audit entry (a policy refusal, a
throttled guess) raises through ``errors.keep_audit``, so the boundary commits that entry alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from shareguard import telemetry
from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import PURPOSES, SHARE_CODE_ONLY, SHARE_CODE_PURPOSES
from shareguard.audit import AuditRecord, append, append_many
from shareguard.checks import matcher
from shareguard.checks.cases import CASEWORKER, RESPONSE_DAYS
from shareguard.checks.models import Case, CaseKind, CaseState, Check, CheckFailure, Outcome
from shareguard.errors import (
    InvalidInput,
    NotFound,
    RateLimited,
    Refused,
    ShareguardError,
    keep_audit,
)
from shareguard.policy import DisclosureRequest, agreement_for, decide, disclose, disclose_many
from shareguard.policy.door import PolicyReading, read_policy
from shareguard.status import sharecodes
from shareguard.status.answer import status_answer
from shareguard.status.service import (
    PersonFacts,
    Standing,
    StatusService,
    share_code_digest,
    subject_of,
)
from shareguard.storage.base import new_id, today, utcnow

#: Failed share-code attempts allowed per organisation per window, and per code per window.
ORG_FAILURES, ORG_WINDOW = 20, timedelta(minutes=10)
CODE_FAILURES, CODE_WINDOW = 5, timedelta(hours=1)
#: Refusals that do not depend on the person: given before any look-up.
UPFRONT_REFUSALS = ("no_agreement", "agreement_state", "key_scope", "limit")


def contest_route(check_id: uuid.UUID) -> dict[str, str]:
    """What every non-confirmed answer carries: how the person contests it."""
    return {
        "how": (
            "Tell the person this result is not final. They can contest it within "
            f"{RESPONSE_DAYS} days; a caseworker answers by the case's response date. Take no "
            "adverse action while a case is open."
        ),
        "contest_url": f"/api/v1/checks/{check_id}/contest",
        "check_reference": str(check_id),
    }


@dataclass
class CheckResult:
    check: Check
    answer: dict[str, Any] | None = None
    case: Case | None = None
    contest: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return self.check.outcome


@dataclass(frozen=True)
class ShareCodeQuery:
    """One share-code check in a batch (``CheckService.share_code_checks``)."""

    code: str
    date_of_birth: date
    purpose: str


@dataclass(frozen=True)
class AttributeQuery:
    purpose: str
    given: str
    family: str
    date_of_birth: date
    document_number: str | None = None
    nationality: str | None = None


class CheckService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.status = StatusService(session)
        self._agreement_id: uuid.UUID | None = None

    # share code checks -------------------------------------------------------------
    def share_code_check(
        self, principal: Principal, code_text: str, date_of_birth: date, purpose: str
    ) -> CheckResult:
        """Answer a share-code check; wrong code, purpose, expiry or date all give ``no_match``.

        Raises InvalidInput for a malformed code or unknown purpose, RateLimited after too many
        failures, Refused when the policy refuses (each audited).
        """
        self._purpose(purpose)
        if purpose not in SHARE_CODE_PURPOSES:
            raise InvalidInput("this purpose has no share codes", field="purpose")
        code = sharecodes.parse(code_text)
        if code is None:
            raise InvalidInput(
                f"a share code is {sharecodes.LENGTH} characters from {sharecodes.ALPHABET}",
                field="code",
            )
        digest = share_code_digest(code)
        self._rate_limit(principal, digest, purpose)
        reading = self._gate(principal, purpose, "share_code")
        # Wrong, expired, revoked or other-purpose code and wrong date: one query, no row.
        holder = self.status.share_code_holder(digest, purpose, date_of_birth)
        if holder is None:
            return self._no_match(principal, purpose, digest)
        return self._answer_for(principal, holder, purpose, "share_code", None, reading)

    def share_code_checks(
        self, principal: Principal, queries: Sequence[ShareCodeQuery]
    ) -> list[CheckResult | ShareguardError]:
        """``share_code_check`` for many queries from one checker, in one unit of work.

        Each query is answered and recorded as ``share_code_check`` records it (the check
        row, its disclosure through the door, its audit entry, a referral's case), but the
        look-ups, policy decisions and writes are made once per batch: a few queries per 500
        checks instead of a dozen per check. What ``share_code_check`` would refuse (the
        policy, a throttle) comes back in place as the error, not raised, its audit entry
        written. Throttles are measured once, at the start of the batch. Raises InvalidInput,
        before anything is written, when any query is malformed (the batch is refused whole).
        """
        digests: list[str] = []
        for q in queries:
            self._purpose(q.purpose)
            if q.purpose not in SHARE_CODE_PURPOSES:
                raise InvalidInput("this purpose has no share codes", field="purpose")
            code = sharecodes.parse(q.code)
            if code is None:
                raise InvalidInput(
                    f"a share code is {sharecodes.LENGTH} characters from {sharecodes.ALPHABET}",
                    field="code",
                )
            digests.append(share_code_digest(code))
        out: list[CheckResult | ShareguardError | None] = [None] * len(queries)
        throttled = self._throttled(principal, digests)
        by_purpose: dict[str, list[int]] = {}
        for i, q in enumerate(queries):
            scope = throttled.get(digests[i])
            if scope is None:
                by_purpose.setdefault(q.purpose, []).append(i)
                continue
            append(
                self.session,
                AuditRecord(
                    action="check.rate_limited",
                    actor_org_id=principal.organisation_id,
                    actor_user_id=principal.user_id,
                    purpose=q.purpose,
                    decision="deny",
                    reasons=(f"too many failed share-code checks for this {scope}",),
                    details={"scope": scope},
                ),
            )
            window = ORG_WINDOW if scope == "organisation" else CODE_WINDOW
            out[i] = RateLimited(
                f"too many failed checks for this {scope}; try again later",
                retry_after=int(window.total_seconds()),
            )
        for purpose, idx in by_purpose.items():
            self._batch_for_purpose(principal, purpose, idx, queries, digests, out)
        answered = [r for r in out if r is not None]
        assert len(answered) == len(queries)
        return answered

    def _throttled(self, principal: Principal, digests: Sequence[str]) -> dict[str, str]:
        """The throttle's scope for each code already over a limit (``_rate_limit``, in bulk)."""
        now = utcnow()
        org = principal.organisation_id
        conn = self.session.connection()
        org_count = select(func.count()).select_from(CheckFailure)
        org_count = org_count.where(
            CheckFailure.organisation_id.is_(None)
            if org is None
            else CheckFailure.organisation_id == org,
            CheckFailure.at > now - ORG_WINDOW,
        )
        if int(conn.execute(org_count).scalar() or 0) >= ORG_FAILURES:
            return dict.fromkeys(digests, "organisation")
        out: dict[str, str] = {}
        unique = list(dict.fromkeys(digests))
        for i in range(0, len(unique), 500):
            stmt = (
                select(CheckFailure.code_hash, func.count())
                .where(
                    CheckFailure.code_hash.in_(unique[i : i + 500]),
                    CheckFailure.at > now - CODE_WINDOW,
                )
                .group_by(CheckFailure.code_hash)
            )
            for digest, n in conn.execute(stmt):
                if n >= CODE_FAILURES:
                    out[digest] = "code"
        return out

    def _batch_for_purpose(
        self,
        principal: Principal,
        purpose: str,
        idx: list[int],
        queries: Sequence[ShareCodeQuery],
        digests: Sequence[str],
        out: list[CheckResult | ShareguardError | None],
    ) -> None:
        """One purpose's share of a batch: gate, look up, answer, disclose, record."""

        try:
            reading = self._gate(principal, purpose, "share_code")
        except Refused as refused:
            # The gate audited one refusal; the batch answers every query of the purpose so.
            request = DisclosureRequest(
                principal=principal,
                action="check",
                agreement_id=None,
                purpose=purpose,
                data_items=PURPOSES[purpose].answer_shape,
                check_method="share_code",
            )
            if len(idx) > 1:
                disclose_many(
                    self.session,
                    [(request, {}, ())] * (len(idx) - 1),
                    kind="check_answer",
                    run=False,
                )
            for i in idx:
                out[i] = Refused(refused.detail, kind=refused.extra.get("kind"))
            return
        holders = self.status.share_code_holders(
            purpose, [(digests[i], queries[i].date_of_birth) for i in idx]
        )
        found = [(i, h) for i, h in zip(idx, holders, strict=True) if h is not None]
        missing = [i for i, h in zip(idx, holders, strict=True) if h is None]
        if missing:
            self._no_matches(principal, purpose, [digests[i] for i in missing], missing, out)
        if not found:
            return
        agreement_id = self._agreement_id
        if agreement_id is None:
            agreement = agreement_for(self.session, principal, purpose)
            agreement_id = agreement.id if agreement is not None else None
        standings = self.status.standings([h.id for _, h in found])
        items = []
        planned: list[tuple[int, Check, PersonFacts, dict[str, Any] | None]] = []
        for i, person in found:
            standing = standings[person.id]
            decisions = standing.decisions
            built = status_answer(person, standing, purpose)
            answer, outcome = built.answer, built.outcome
            referred = outcome == Outcome.REFERRED
            refs = [] if referred else built.record_refs
            check = Check(
                organisation_id=principal.organisation_id,
                user_id=principal.user_id,
                purpose=purpose,
                method="share_code",
                outcome=outcome,
                person_id=person.id,
                score=None,
            )
            request = DisclosureRequest(
                principal=principal,
                action="check",
                agreement_id=agreement_id,
                purpose=purpose,
                data_items=PURPOSES[purpose].answer_shape,
                subject=subject_of(person, decisions),
                check_method="share_code",
            )
            items.append((request, {} if referred else answer, refs))
            planned.append((i, check, person, None if referred else answer))
        done = disclose_many(self.session, items, kind="check_answer", run=False, reading=reading)
        stored, cases = [], []
        for (i, check, _person, _answer_given), disclosed in zip(planned, done, strict=True):
            if not disclosed.decision.allowed:
                out[i] = Refused(disclosed.decision.reason, kind=disclosed.decision.kind)
                continue
            check.id = new_id()
            check.at = utcnow()
            check.agreement_id = agreement_id
            check.disclosure_id = disclosed.disclosure_id
            check.audit_entry_id = disclosed.audit_entry_id
            stored.append({k: getattr(check, k) for k in _CHECK_COLUMNS})
            result = CheckResult(check, answer=disclosed.answer)
            if check.outcome == Outcome.REFERRED:
                result.answer = None
                result.case = Case(
                    id=new_id(),
                    check_id=check.id,
                    person_id=check.person_id,
                    kind=CaseKind.REFERRAL,
                    state=CaseState.OPEN,
                    opened_at=utcnow(),
                    respond_by=today() + timedelta(days=RESPONSE_DAYS),
                    statement="",
                    outcome="",
                    outcome_note="",
                )
                result.contest = contest_route(check.id)
                result.extra = {"reason": "appeal_open"}
                cases.append({k: getattr(result.case, k) for k in _CASE_COLUMNS})
            elif check.outcome != Outcome.CONFIRMED:
                result.contest = contest_route(check.id)
            out[i] = result
        conn = self.session.connection()
        if stored:
            conn.execute(_INSERT_CHECK, stored)
            _counted(stored)
        if cases:
            conn.execute(_INSERT_CASE, cases)

    def _no_matches(
        self,
        principal: Principal,
        purpose: str,
        digests: Sequence[str],
        idx: Sequence[int],
        out: list[CheckResult | ShareguardError | None],
    ) -> None:
        """``_no_match`` for many: failures counted, each audited, each a check row."""

        now = utcnow()
        checks = []
        for _ in idx:
            check = Check(
                organisation_id=principal.organisation_id,
                user_id=principal.user_id,
                purpose=purpose,
                method="share_code",
                outcome=Outcome.NO_MATCH,
            )
            check.id = new_id()
            check.at = now
            checks.append(check)
        conn = self.session.connection()
        conn.execute(
            _INSERT_FAILURE,
            [
                {"organisation_id": principal.organisation_id, "code_hash": d, "at": now}
                for d in digests
            ],
        )
        entries = append_many(
            self.session,
            [
                AuditRecord(
                    action="check.share_code",
                    actor_org_id=principal.organisation_id,
                    actor_user_id=principal.user_id,
                    purpose=purpose,
                    decision=None,
                    details={"check_id": str(c.id), "outcome": Outcome.NO_MATCH},
                )
                for c in checks
            ],
        )
        for check, entry in zip(checks, entries, strict=True):
            check.audit_entry_id = entry.id
        rows = [{k: getattr(c, k) for k in _CHECK_COLUMNS} for c in checks]
        conn.execute(_INSERT_CHECK, rows)
        _counted(rows)
        for i, check in zip(idx, checks, strict=True):
            out[i] = CheckResult(
                check,
                contest={
                    "how": "No match. Ask the person to check the code and date of birth or to "
                    "create a new code; the person can ask for help or contest through the "
                    "service.",
                    "check_reference": str(check.id),
                },
            )

    def _no_match(self, principal: Principal, purpose: str, digest: str) -> CheckResult:
        # One path for every kind of failure, so nothing in the answer or its timing profile
        # (beyond the database's) says which part was wrong.
        check = Check(
            organisation_id=principal.organisation_id,
            user_id=principal.user_id,
            purpose=purpose,
            method="share_code",
            outcome=Outcome.NO_MATCH,
        )
        check.id = new_id()
        self.session.connection().execute(
            _INSERT_FAILURE,
            {"organisation_id": principal.organisation_id, "code_hash": digest, "at": utcnow()},
        )
        entry = append(
            self.session,
            AuditRecord(
                action="check.share_code",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                purpose=purpose,
                decision=None,
                details={"check_id": str(check.id), "outcome": Outcome.NO_MATCH},
            ),
        )
        check.audit_entry_id = entry.id
        self._store(check)
        return CheckResult(
            check,
            contest={
                "how": "No match. Ask the person to check the code and date of birth or to create "
                "a new code; the person can ask for help or contest through the service.",
                "check_reference": str(check.id),
            },
        )

    def _rate_limit(self, principal: Principal, digest: str, purpose: str) -> None:
        now = utcnow()
        org = principal.organisation_id
        org_failures, code_failures = (
            self.session.connection()
            .execute(
                _FAILURES[org is None],
                {
                    "org": org,
                    "org_since": now - ORG_WINDOW,
                    "code_hash": digest,
                    "code_since": now - CODE_WINDOW,
                },
            )
            .one()
        )
        org_failures, code_failures = org_failures or 0, code_failures or 0
        scope = (
            "organisation"
            if org_failures >= ORG_FAILURES
            else "code"
            if code_failures >= CODE_FAILURES
            else None
        )
        if scope is None:
            return
        append(
            self.session,
            AuditRecord(
                action="check.rate_limited",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                purpose=purpose,
                decision="deny",
                reasons=(f"too many failed share-code checks for this {scope}",),
                details={"scope": scope},
            ),
        )
        window = ORG_WINDOW if scope == "organisation" else CODE_WINDOW
        raise keep_audit(
            RateLimited(
                f"too many failed checks for this {scope}; try again later",
                retry_after=int(window.total_seconds()),
            )
        )

    # attribute checks --------------------------------------------------------------
    def attribute_check(self, principal: Principal, query: AttributeQuery) -> CheckResult:
        """Match name and date of birth (plus document, nationality) and answer for the purpose.

        ``confirmed``/``not_confirmed`` only for one strong, clear match; anything else is
        ``referred`` and opens a case.
        """
        self._purpose(query.purpose)
        if query.purpose in SHARE_CODE_ONLY:
            raise InvalidInput("this purpose is checked by share code only", field="purpose")
        if query.date_of_birth > today():
            raise InvalidInput("date of birth is in the future", field="date_of_birth")
        reading = self._gate(principal, query.purpose, "attributes")
        cands = self.status.candidates(
            query.given, query.family, query.date_of_birth, query.document_number
        )
        by_id = {str(p.id): p for p in cands}
        result = matcher.decide(
            matcher.Query(
                query.given,
                query.family,
                query.date_of_birth,
                query.document_number,
                query.nationality,
            ),
            [
                matcher.Candidate(
                    str(p.id),
                    [(n.given, n.family) for n in p.names],
                    p.date_of_birth,
                    [d.number for d in p.documents],
                    p.nationality,
                )
                for p in cands
            ],
        )
        best = by_id[result.best.key] if result.best else None
        score = result.best.score if result.best else None
        if result.kind == "unique" and best is not None:
            return self._answer_for(
                principal, PersonFacts.of(best), query.purpose, "attributes", score, reading
            )
        # Weak: the best candidate is who the check probably concerned; ambiguous or none: no one.
        weak = PersonFacts.of(best) if result.kind == "weak" and best is not None else None
        return self._refer(
            principal,
            weak,
            self.status.standing(weak.id).decisions if weak is not None else [],
            query.purpose,
            "attributes",
            score,
            reading,
            reason=result.kind,
        )

    # the way out -------------------------------------------------------------------
    def _gate(self, principal: Principal, purpose: str, method: str) -> PolicyReading:
        """Refuse, before looking anyone up, a checker with no right to ask at all.

        Otherwise a checker without an agreement could learn from "no match" versus a
        refusal whether a code or a name is known. Refusals that depend on the person
        (firewall, pause, lock) are decided later, with the subject, on the policy reading
        returned here (the generation is read once per check).
        """

        request = DisclosureRequest(
            principal=principal,
            action="check",
            agreement_id=None,
            purpose=purpose,
            data_items=PURPOSES[purpose].answer_shape,
            check_method=method,
        )
        reading = read_policy(self.session)
        decision = decide(self.session, request, reading=reading)
        # Decide the disclosure itself under the same agreement (saves finding it again).
        self._agreement_id = decision.agreement_id
        if decision.allowed or decision.kind not in UPFRONT_REFUSALS:
            return reading
        # audits the refusal
        out = disclose(self.session, request, {}, kind="check_answer", reading=reading)
        raise keep_audit(Refused(out.decision.reason, kind=out.decision.kind))

    def _answer_for(
        self,
        principal: Principal,
        person: PersonFacts,
        purpose: str,
        method: str,
        score: float | None,
        reading: PolicyReading,
    ) -> CheckResult:
        standing: Standing = self.status.standing(person.id)
        decisions = standing.decisions
        built = status_answer(person, standing, purpose)
        answer, outcome, refs = built.answer, built.outcome, built.record_refs
        if outcome == Outcome.REFERRED:
            return self._refer(
                principal, person, decisions, purpose, method, score, reading, reason="appeal_open"
            )
        check = Check(
            organisation_id=principal.organisation_id,
            user_id=principal.user_id,
            purpose=purpose,
            method=method,
            outcome=outcome,
            person_id=person.id,
            score=score,
        )
        disclosed = self._disclose(principal, check, person, answer, refs, decisions, reading)
        result = CheckResult(check, answer=disclosed)
        if outcome != Outcome.CONFIRMED:
            result.contest = contest_route(check.id)
        return result

    def _refer(
        self,
        principal: Principal,
        person: PersonFacts | None,
        decisions: Sequence[Any],
        purpose: str,
        method: str,
        score: float | None,
        reading: PolicyReading,
        *,
        reason: str,
    ) -> CheckResult:
        check = Check(
            organisation_id=principal.organisation_id,
            user_id=principal.user_id,
            purpose=purpose,
            method=method,
            outcome=Outcome.REFERRED,
            person_id=person.id if person else None,
            score=score,
        )
        if person is not None:
            self._disclose(principal, check, person, {}, [], decisions, reading)
        else:
            check.id = new_id()
            entry = append(
                self.session,
                AuditRecord(
                    action=f"check.{method}",
                    actor_org_id=principal.organisation_id,
                    actor_user_id=principal.user_id,
                    purpose=purpose,
                    details={
                        "check_id": str(check.id),
                        "outcome": Outcome.REFERRED,
                        "reason": reason,
                    },
                ),
            )
            check.audit_entry_id = entry.id
            self._store(check)
        case = Case(
            check_id=check.id,
            person_id=check.person_id,
            kind=CaseKind.REFERRAL,
            respond_by=today() + timedelta(days=RESPONSE_DAYS),
        )
        self.session.add(case)
        self.session.flush()
        return CheckResult(
            check, answer=None, case=case, contest=contest_route(check.id), extra={"reason": reason}
        )

    def _disclose(
        self,
        principal: Principal,
        check: Check,
        person: PersonFacts,
        answer: dict[str, Any],
        refs: list[str],
        decisions: Sequence[Any],
        reading: PolicyReading,
    ) -> dict[str, Any] | None:
        """Send the answer through the one door; raise Refused through ``keep_audit`` (the
        boundary commits its audit entry, and nothing else was written yet) when refused."""

        agreement_id = self._agreement_id
        if agreement_id is None:
            agreement = agreement_for(self.session, principal, check.purpose)
            agreement_id = agreement.id if agreement is not None else None
        request = DisclosureRequest(
            principal=principal,
            action="check",
            agreement_id=agreement_id,
            purpose=check.purpose,
            data_items=PURPOSES[check.purpose].answer_shape,
            subject=subject_of(person, decisions),
            check_method=check.method,
        )
        out = disclose(
            self.session, request, answer, kind="check_answer", record_refs=refs, reading=reading
        )
        if not out.decision.allowed:
            raise keep_audit(Refused(out.decision.reason, kind=out.decision.kind))
        check.agreement_id = request.agreement_id
        check.disclosure_id = out.disclosure_id
        check.audit_entry_id = out.audit_entry_id
        self._store(check)
        return out.answer

    def _store(self, check: Check) -> None:
        """INSERT the check row, complete (audit entry included), in the caller's transaction.

        Core, not the unit of work: the row is written once and never changed here, and
        flushing an object costs more than the rest of recording a check. ``check`` stays a
        plain (transient) object carrying the stored values.
        """
        if check.id is None:
            check.id = new_id()
        check.at = check.at or utcnow()
        row = {k: getattr(check, k) for k in _CHECK_COLUMNS}
        self.session.connection().execute(_INSERT_CHECK, row)
        _counted([row])

    # reading a check -------------------------------------------------------------
    def check(self, check_id: uuid.UUID, principal: Principal) -> Check:
        """A check, for the organisation that made it (or caseworkers)."""
        row = self.session.get(Check, check_id)
        if row is None or not (
            principal.has(CASEWORKER, "system")
            or row.organisation_id == principal.organisation_id
            or (row.person_id is not None and row.person_id == principal.person_id)
        ):
            raise NotFound(f"check {check_id} not found")
        return row

    def _purpose(self, purpose: str) -> None:
        if purpose not in PURPOSES:
            raise InvalidInput("unknown purpose for a check", field="purpose")


def _failures(org_is_none: bool) -> Any:
    """Failed checks by the organisation and for the code, each in its window: one statement
    of two indexed counts (``organisation_id IS NULL`` for a principal with no organisation)."""
    org = (
        CheckFailure.organisation_id.is_(None)
        if org_is_none
        else CheckFailure.organisation_id == bindparam("org")
    )
    count = select(func.count()).select_from(CheckFailure)
    return select(
        count.where(org, CheckFailure.at > bindparam("org_since")).scalar_subquery(),
        count.where(
            CheckFailure.code_hash == bindparam("code_hash"),
            CheckFailure.at > bindparam("code_since"),
        ).scalar_subquery(),
    )


_INSERT_CHECK = insert(Check.__table__)  # type: ignore[arg-type]


def _counted(rows: Sequence[Mapping[str, Any]]) -> None:
    """Count checks by outcome for the operators' metrics (codes only)."""
    for row in rows:
        telemetry.count(
            "checks",
            outcome=str(row["outcome"]),
            purpose=str(row["purpose"]),
            method=str(row["method"]),
        )


_CHECK_COLUMNS = tuple(c.key for c in Check.__table__.columns)
_INSERT_FAILURE = insert(CheckFailure.__table__)  # type: ignore[arg-type]
_INSERT_CASE = insert(Case.__table__)  # type: ignore[arg-type]
_CASE_COLUMNS = tuple(c.key for c in Case.__table__.columns)

#: Indexed by "the principal has no organisation".
_FAILURES = {False: _failures(False), True: _failures(True)}


def outcome_counts(session: Session, since: datetime | None = None) -> dict[str, int]:
    """Checks by outcome (for reports)."""
    stmt = select(Check.outcome, func.count()).group_by(Check.outcome)
    if since is not None:
        stmt = stmt.where(Check.at >= since)
    return {o: n for o, n in session.execute(stmt).all()}

"""Share-code checks: one at a time or a batch from one checker, and the throttle on guesses.

A wrong, expired, revoked or other-purpose code and a wrong date of birth all give the same
``no_match`` by one path, so nothing in the answer says which part was wrong; each failure is
counted, and too many from one organisation or for one code are refused (``RateLimited``,
audited) until the window passes. What is answered leaves by ``checks.answers``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select

from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import SHARE_CODE_PURPOSES
from shareguard.audit import AuditRecord, append, append_many
from shareguard.checks.answers import (
    CASE_COLUMNS,
    INSERT_CASE,
    CheckAnswers,
    CheckResult,
    check_row,
    contest_route,
    referral_case,
)
from shareguard.checks.models import Check, CheckFailure, Outcome
from shareguard.errors import InvalidInput, RateLimited, Refused, ShareguardError, keep_audit
from shareguard.policy import disclose_many
from shareguard.status import sharecodes
from shareguard.status.answer import status_answer
from shareguard.status.service import share_code_digest, subject_of
from shareguard.storage.base import new_id, utcnow

#: Failed share-code attempts allowed per organisation per window, and per code per window.
ORG_FAILURES, ORG_WINDOW = 20, timedelta(minutes=10)
CODE_FAILURES, CODE_WINDOW = 5, timedelta(hours=1)
METHOD = "share_code"


@dataclass(frozen=True)
class ShareCodeQuery:
    """One share-code check in a batch (``CheckService.share_code_checks``)."""

    code: str
    date_of_birth: date
    purpose: str


def no_match_route(check_id: uuid.UUID) -> dict[str, str]:
    """What a ``no_match`` carries: what to ask the person, never which part was wrong."""
    return {
        "how": "No match. Ask the person to check the code and date of birth or to create a "
        "new code; the person can ask for help or contest through the service.",
        "check_reference": str(check_id),
    }


class ShareCodeChecks:
    def __init__(self, answers: CheckAnswers) -> None:
        self.answers = answers
        self.session = answers.session
        self.status = answers.status

    def check(
        self, principal: Principal, code_text: str, date_of_birth: date, purpose: str
    ) -> CheckResult:
        """Answer a share-code check; wrong code, purpose, expiry or date all give ``no_match``.

        Raises InvalidInput for a malformed code or unknown purpose, RateLimited after too many
        failures, Refused when the policy refuses (each audited).
        """
        digest = self._digest(code_text, purpose)
        self._rate_limit(principal, digest, purpose)
        reading = self.answers.gate(principal, purpose, METHOD)
        # Wrong, expired, revoked or other-purpose code and wrong date: one query, no row.
        holder = self.status.share_code_holder(digest, purpose, date_of_birth)
        if holder is None:
            return self._no_match(principal, purpose, digest)
        return self.answers.answer_for(principal, holder, purpose, METHOD, None, reading)

    def check_many(
        self, principal: Principal, queries: Sequence[ShareCodeQuery]
    ) -> list[CheckResult | ShareguardError]:
        """``check`` for many queries from one checker, in one unit of work.

        Each query is answered and recorded as ``check`` records it (the check row, its
        disclosure through the door, its audit entry, a referral's case), but the look-ups,
        policy decisions and writes are made once per batch: a few queries per 500 checks
        instead of a dozen per check. What ``check`` would refuse (the policy, a throttle)
        comes back in place as the error, not raised, its audit entry written. Throttles are
        measured once, at the start of the batch. Raises InvalidInput, before anything is
        written, when any query is malformed (the batch is refused whole).
        """
        digests = [self._digest(q.code, q.purpose) for q in queries]
        out: list[CheckResult | ShareguardError | None] = [None] * len(queries)
        throttled = self._throttled(principal, digests)
        by_purpose: dict[str, list[int]] = {}
        for i, q in enumerate(queries):
            scope = throttled.get(digests[i])
            if scope is None:
                by_purpose.setdefault(q.purpose, []).append(i)
                continue
            out[i] = self._throttle(principal, q.purpose, scope)
        for purpose, idx in by_purpose.items():
            self._batch_for_purpose(principal, purpose, idx, queries, digests, out)
        answered = [r for r in out if r is not None]
        assert len(answered) == len(queries)
        return answered

    def _digest(self, code_text: str, purpose: str) -> str:
        """The stored hash of a well-formed code for a share-code purpose; else InvalidInput."""
        self.answers.purpose(purpose)
        if purpose not in SHARE_CODE_PURPOSES:
            raise InvalidInput("this purpose has no share codes", field="purpose")
        code = sharecodes.parse(code_text)
        if code is None:
            raise InvalidInput(
                f"a share code is {sharecodes.LENGTH} characters from {sharecodes.ALPHABET}",
                field="code",
            )
        return share_code_digest(code)

    def _throttle(self, principal: Principal, purpose: str, scope: str) -> RateLimited:
        """Audit a throttled check and give the refusal (raised or returned by the caller)."""
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
        return RateLimited(
            f"too many failed checks for this {scope}; try again later",
            retry_after=int(window.total_seconds()),
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
        if scope is not None:
            raise keep_audit(self._throttle(principal, purpose, scope))

    def _throttled(self, principal: Principal, digests: Sequence[str]) -> dict[str, str]:
        """The throttle's scope for each code already over a limit (``_rate_limit``, in bulk)."""
        now = utcnow()
        org = principal.organisation_id
        conn = self.session.connection()
        params = {"org": org, "org_since": now - ORG_WINDOW}
        if int(conn.execute(_ORG_FAILURES[org is None], params).scalar() or 0) >= ORG_FAILURES:
            return dict.fromkeys(digests, "organisation")
        out: dict[str, str] = {}
        unique = list(dict.fromkeys(digests))
        for i in range(0, len(unique), 500):
            chunk = {"hashes": unique[i : i + 500], "code_since": now - CODE_WINDOW}
            for digest, n in conn.execute(_CODE_FAILURES, chunk):
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
            reading = self.answers.gate_many(principal, purpose, METHOD, len(idx))
        except Refused as refused:  # audited once per query of the purpose
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
        agreement_id = self.answers.agreement(principal, purpose)
        standings = self.status.standings([h.id for _, h in found])
        items = []
        planned: list[tuple[int, uuid.UUID, str]] = []
        for i, person in found:
            standing = standings[person.id]
            built = status_answer(person, standing, purpose)
            answer, outcome = built.answer, built.outcome
            referred = outcome == Outcome.REFERRED
            refs = [] if referred else built.record_refs
            subject = subject_of(person, standing.decisions)
            request = self.answers.request(principal, purpose, METHOD, agreement_id, subject)
            items.append((request, {} if referred else answer, refs))
            planned.append((i, person.id, outcome))
        done = disclose_many(self.session, items, kind="check_answer", run=False, reading=reading)
        stored, cases = [], []
        for (i, person_id, outcome), disclosed in zip(planned, done, strict=True):
            if not disclosed.decision.allowed:
                out[i] = Refused(disclosed.decision.reason, kind=disclosed.decision.kind)
                continue
            # The row first, then the (transient) check from it in one go: setting an
            # entity's attributes one by one cost more than writing the row.
            row = {
                "id": new_id(),
                "at": utcnow(),
                "organisation_id": principal.organisation_id,
                "user_id": principal.user_id,
                "agreement_id": agreement_id,
                "purpose": purpose,
                "method": METHOD,
                "outcome": outcome,
                "person_id": person_id,
                "score": None,
                "disclosure_id": disclosed.disclosure_id,
                "audit_entry_id": disclosed.audit_entry_id,
            }
            stored.append(row)
            check = Check(**row)
            result = CheckResult(check, answer=disclosed.answer)
            if check.outcome == Outcome.REFERRED:
                result.answer = None
                result.case = referral_case(check.id, check.person_id)
                result.contest = contest_route(check.id)
                result.extra = {"reason": "appeal_open"}
                cases.append({k: getattr(result.case, k) for k in CASE_COLUMNS})
            elif check.outcome != Outcome.CONFIRMED:
                result.contest = contest_route(check.id)
            out[i] = result
        if stored:
            self.answers.store_rows(stored)
        if cases:
            self.session.connection().execute(INSERT_CASE, cases)

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
            check = _no_match_check(principal, purpose)
            check.at = now
            checks.append(check)
        self.session.connection().execute(
            _INSERT_FAILURE,
            [
                {"organisation_id": principal.organisation_id, "code_hash": d, "at": now}
                for d in digests
            ],
        )
        entries = append_many(
            self.session, [_no_match_record(principal, purpose, c.id) for c in checks]
        )
        for check, entry in zip(checks, entries, strict=True):
            check.audit_entry_id = entry.id
        self.answers.store_rows([check_row(c) for c in checks])
        for i, check in zip(idx, checks, strict=True):
            out[i] = CheckResult(check, contest=no_match_route(check.id))

    def _no_match(self, principal: Principal, purpose: str, digest: str) -> CheckResult:
        # One path for every kind of failure, so nothing in the answer or its timing profile
        # (beyond the database's) says which part was wrong.
        check = _no_match_check(principal, purpose)
        self.session.connection().execute(
            _INSERT_FAILURE,
            {"organisation_id": principal.organisation_id, "code_hash": digest, "at": utcnow()},
        )
        entry = append(self.session, _no_match_record(principal, purpose, check.id))
        check.audit_entry_id = entry.id
        self.answers.store(check)
        return CheckResult(check, contest=no_match_route(check.id))


def _no_match_check(principal: Principal, purpose: str) -> Check:
    """A ``no_match`` check row, its id set (not yet stored): the single and batched paths."""
    check = Check(
        organisation_id=principal.organisation_id,
        user_id=principal.user_id,
        purpose=purpose,
        method=METHOD,
        outcome=Outcome.NO_MATCH,
    )
    check.id = new_id()
    return check


def _no_match_record(principal: Principal, purpose: str, check_id: uuid.UUID) -> AuditRecord:
    """The audit record of a ``no_match``: the check's id and outcome, never the code."""
    return AuditRecord(
        action="check.share_code",
        actor_org_id=principal.organisation_id,
        actor_user_id=principal.user_id,
        purpose=purpose,
        decision=None,
        details={"check_id": str(check_id), "outcome": Outcome.NO_MATCH},
    )


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


# ``_throttled``'s two reads, built once (a batch's statements cost more to build than to run).
_ORG_FAILURES = {
    none: select(func.count())
    .select_from(CheckFailure)
    .where(
        CheckFailure.organisation_id.is_(None)
        if none
        else CheckFailure.organisation_id == bindparam("org"),
        CheckFailure.at > bindparam("org_since"),
    )
    for none in (False, True)
}
_CODE_FAILURES = (
    select(CheckFailure.code_hash, func.count())
    .where(
        CheckFailure.code_hash.in_(bindparam("hashes", expanding=True)),
        CheckFailure.at > bindparam("code_since"),
    )
    .group_by(CheckFailure.code_hash)
)
_INSERT_FAILURE = insert(CheckFailure.__table__)  # type: ignore[arg-type]
#: Indexed by "the principal has no organisation".
_FAILURES = {False: _failures(False), True: _failures(True)}

"""Attribute checks: name and date of birth (and document number, nationality) matched against
the register (``checks.matcher``). Only one strong, clear match is answered; a weak,
ambiguous or missing match is referred to a caseworker. What is answered leaves by
``checks.answers``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import SHARE_CODE_ONLY
from shareguard.audit import append_many
from shareguard.checks import matcher
from shareguard.checks.answers import (
    CASE_COLUMNS,
    INSERT_CASE,
    CheckAnswers,
    CheckResult,
    contest_route,
    referral_case,
    referral_record,
)
from shareguard.checks.models import Check, Outcome
from shareguard.errors import InvalidInput, Refused, ShareguardError
from shareguard.policy import disclose_many
from shareguard.status.answer import status_answer
from shareguard.status.service import CandidateFacts, PersonFacts, subject_of
from shareguard.storage.base import new_id, today, utcnow

METHOD = "attributes"


@dataclass(frozen=True)
class AttributeQuery:
    purpose: str
    given: str
    family: str
    date_of_birth: date
    document_number: str | None = None
    nationality: str | None = None


class AttributeChecks:
    def __init__(self, answers: CheckAnswers) -> None:
        self.answers = answers
        self.session = answers.session
        self.status = answers.status

    def check(self, principal: Principal, query: AttributeQuery) -> CheckResult:
        """Match name and date of birth (plus document, nationality) and answer for the purpose.

        ``confirmed``/``not_confirmed`` only for one strong, clear match; anything else is
        ``referred`` and opens a case.
        """
        self._valid(query)
        reading = self.answers.gate(principal, query.purpose, METHOD)
        result, by_id = self._match(query)
        best = by_id[result.best.key] if result.best else None
        score = result.best.score if result.best else None
        if result.kind == "unique" and best is not None:
            return self.answers.answer_for(principal, best, query.purpose, METHOD, score, reading)
        # Weak: the best candidate is who the check probably concerned; ambiguous or none: no one.
        weak = best if result.kind == "weak" else None
        return self.answers.refer(
            principal,
            weak,
            self.status.standing(weak.id).decisions if weak is not None else [],
            query.purpose,
            METHOD,
            score,
            reading,
            reason=result.kind,
        )

    def check_many(
        self, principal: Principal, queries: Sequence[AttributeQuery]
    ) -> list[CheckResult | ShareguardError]:
        """``check`` for many queries from one checker, in one unit of work.

        Each query is matched and recorded as ``check`` records it (the check row, its
        disclosure through the door or its own audit entry, a referral's case), but the gate,
        the standings, the door and the writes are taken once per purpose: the look-up of
        candidates stays one per query. What ``check`` would refuse (the policy) comes back in
        place as the error, its audit entry written. Raises InvalidInput, before anything is
        written, when any query is malformed (the batch is refused whole).
        """
        for query in queries:
            self._valid(query)
        out: list[CheckResult | ShareguardError | None] = [None] * len(queries)
        by_purpose: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            by_purpose.setdefault(query.purpose, []).append(i)
        for purpose, idx in by_purpose.items():
            self._batch_for_purpose(principal, purpose, idx, queries, out)
        answered = [r for r in out if r is not None]
        assert len(answered) == len(queries)
        return answered

    def _valid(self, query: AttributeQuery) -> None:
        self.answers.purpose(query.purpose)
        if query.purpose in SHARE_CODE_ONLY:
            raise InvalidInput("this purpose is checked by share code only", field="purpose")
        if query.date_of_birth > today():
            raise InvalidInput("date of birth is in the future", field="date_of_birth")

    def _match(self, query: AttributeQuery) -> tuple[matcher.MatchResult, dict[str, PersonFacts]]:
        cands: list[CandidateFacts] = self.status.candidate_facts(
            query.given, query.family, query.date_of_birth, query.document_number
        )
        by_id = {str(c.person.id): c.person for c in cands}
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
                    str(c.person.id),
                    c.names,
                    c.person.date_of_birth,
                    c.documents,
                    c.person.nationality,
                )
                for c in cands
            ],
        )
        return result, by_id

    def _batch_for_purpose(
        self,
        principal: Principal,
        purpose: str,
        idx: list[int],
        queries: Sequence[AttributeQuery],
        out: list[CheckResult | ShareguardError | None],
    ) -> None:
        """One purpose's share of a batch: gate, match, answer or refer, disclose, record."""

        try:
            reading = self.answers.gate_many(principal, purpose, METHOD, len(idx))
        except Refused as refused:  # audited once per query of the purpose
            for i in idx:
                out[i] = Refused(refused.detail, kind=refused.extra.get("kind"))
            return
        # (query, the person found or None, the matcher's verdict, its best score)
        found: list[tuple[int, PersonFacts | None, str, float | None]] = []
        for i in idx:
            match, by_id = self._match(queries[i])
            best = by_id[match.best.key] if match.best else None
            score = match.best.score if match.best else None
            person = best if match.kind in ("unique", "weak") else None
            found.append((i, person, match.kind, score))
        standings = self.status.standings([p.id for _, p, _, _ in found if p is not None])
        # Checks and their cases are numbered in the queries' order, as one at a time would.
        ids = {i: new_id() for i in idx}
        referred: dict[int, CheckResult] = {}
        agreement_id = self.answers.agreement(principal, purpose)
        items = []
        # (query, person, outcome, score, the referral's reason or None)
        planned: list[tuple[int, uuid.UUID, str, float | None, str | None]] = []
        no_one: list[tuple[int, float | None, str]] = []
        for i, person, kind, score in found:
            if person is None:
                no_one.append((i, score, kind))
                continue
            standing = standings[person.id]
            subject = subject_of(person, standing.decisions)
            request = self.answers.request(principal, purpose, METHOD, agreement_id, subject)
            if kind == "unique":
                built = status_answer(person, standing, purpose)
                if built.outcome != Outcome.REFERRED:
                    items.append((request, built.answer, built.record_refs))
                    planned.append((i, person.id, built.outcome, score, None))
                    continue
                kind = "appeal_open"
            items.append((request, {}, []))
            planned.append((i, person.id, Outcome.REFERRED, score, kind))
        done = disclose_many(self.session, items, kind="check_answer", run=False, reading=reading)
        rows: list[dict[str, Any]] = []
        for (i, person_id, outcome, score, reason), disclosed in zip(planned, done, strict=True):
            if not disclosed.decision.allowed:
                out[i] = Refused(disclosed.decision.reason, kind=disclosed.decision.kind)
                continue
            row = self._row(ids[i], principal, purpose, outcome, person_id, score)
            row.update(
                agreement_id=agreement_id,
                disclosure_id=disclosed.disclosure_id,
                audit_entry_id=disclosed.audit_entry_id,
            )
            rows.append(row)
            out[i] = self._result(Check(**row), disclosed.answer, reason, referred, i)
        if no_one:
            # No one to disclose about: the check is audited directly, as ``refer`` does.
            now = [
                self._row(ids[i], principal, purpose, Outcome.REFERRED, None, score)
                for i, score, _ in no_one
            ]
            entries = append_many(
                self.session,
                [
                    referral_record(principal, purpose, METHOD, row["id"], reason)
                    for row, (_, _, reason) in zip(now, no_one, strict=True)
                ],
            )
            for row, entry, (i, _, reason) in zip(now, entries, no_one, strict=True):
                row["audit_entry_id"] = entry.id
                rows.append(row)
                out[i] = self._result(Check(**row), None, reason, referred, i)
        cases: list[dict[str, Any]] = []
        for i in sorted(referred):
            case = referral_case(referred[i].check.id, referred[i].check.person_id)
            referred[i].case = case
            cases.append({k: getattr(case, k) for k in CASE_COLUMNS})
        if rows:
            self.answers.store_rows(rows)
        if cases:
            self.session.connection().execute(INSERT_CASE, cases)

    @staticmethod
    def _row(
        check_id: uuid.UUID,
        principal: Principal,
        purpose: str,
        outcome: str,
        person_id: uuid.UUID | None,
        score: float | None,
    ) -> dict[str, Any]:
        """A check row as ``CheckAnswers.store`` writes it (its disclosure not yet known)."""
        return {
            "id": check_id,
            "at": utcnow(),
            "organisation_id": principal.organisation_id,
            "user_id": principal.user_id,
            "agreement_id": None,
            "purpose": purpose,
            "method": METHOD,
            "outcome": outcome,
            "person_id": person_id,
            "score": score,
            "disclosure_id": None,
            "audit_entry_id": None,
        }

    @staticmethod
    def _result(
        check: Check,
        answer: dict[str, Any] | None,
        reason: str | None,
        referred: dict[int, CheckResult],
        i: int,
    ) -> CheckResult:
        """The result ``answer_for`` or ``refer`` gives; a referral joins ``referred`` (its
        case is added once all are known, in the queries' order)."""
        result = CheckResult(check, answer=answer)
        if reason is not None:
            referred[i] = result
            result.answer = None
            result.extra = {"reason": reason}
            result.contest = contest_route(check.id)
        elif check.outcome != Outcome.CONFIRMED:
            result.contest = contest_route(check.id)
        return result

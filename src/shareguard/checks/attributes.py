"""Attribute checks: name and date of birth (and document number, nationality) matched against
the register (``checks.matcher``). Only one strong, clear match is answered; a weak,
ambiguous or missing match is referred to a caseworker. What is answered leaves by
``checks.answers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import SHARE_CODE_ONLY
from shareguard.checks import matcher
from shareguard.checks.answers import CheckAnswers, CheckResult
from shareguard.errors import InvalidInput
from shareguard.storage.base import today

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
        self.status = answers.status

    def check(self, principal: Principal, query: AttributeQuery) -> CheckResult:
        """Match name and date of birth (plus document, nationality) and answer for the purpose.

        ``confirmed``/``not_confirmed`` only for one strong, clear match; anything else is
        ``referred`` and opens a case.
        """
        self.answers.purpose(query.purpose)
        if query.purpose in SHARE_CODE_ONLY:
            raise InvalidInput("this purpose is checked by share code only", field="purpose")
        if query.date_of_birth > today():
            raise InvalidInput("date of birth is in the future", field="date_of_birth")
        reading = self.answers.gate(principal, query.purpose, METHOD)
        cands = self.status.candidate_facts(
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

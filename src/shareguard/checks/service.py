"""Real-time checks: the one service routes, commands, the console and the demo call.

Each kind of check is its own module, named by its key in ``agreements.catalogue.CHECK_METHODS``
(``checks.share_code``, ``checks.attributes``); both end in ``checks.answers`` (the gate, the
answer through the one door, referrals, the check row); cases and contests are
``checks.cases``. One public method is one unit of work: it flushes, and the request or CLI
boundary commits it, answer and audit entry together. A refusal that keeps its audit entry (a
policy refusal, a throttled guess) raises through ``errors.keep_audit``, so the boundary commits
that entry alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.checks.answers import CheckAnswers, CheckResult
from shareguard.checks.attributes import AttributeChecks, AttributeQuery
from shareguard.checks.cases import CASEWORKER
from shareguard.checks.models import Check
from shareguard.checks.share_code import ShareCodeChecks, ShareCodeQuery
from shareguard.errors import NotFound, ShareguardError


class CheckService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.answers = CheckAnswers(session)
        self.share_codes = ShareCodeChecks(self.answers)
        self.attributes = AttributeChecks(self.answers)

    def share_code_check(
        self, principal: Principal, code_text: str, date_of_birth: date, purpose: str
    ) -> CheckResult:
        """A check by share code and date of birth (``ShareCodeChecks.check``)."""
        return self.share_codes.check(principal, code_text, date_of_birth, purpose)

    def share_code_checks(
        self, principal: Principal, queries: Sequence[ShareCodeQuery]
    ) -> list[CheckResult | ShareguardError]:
        """Many share-code checks from one checker in one unit of work (``check_many``)."""
        return self.share_codes.check_many(principal, queries)

    def attribute_check(self, principal: Principal, query: AttributeQuery) -> CheckResult:
        """A check by name and date of birth (``AttributeChecks.check``)."""
        return self.attributes.check(principal, query)

    def attribute_checks(
        self, principal: Principal, queries: Sequence[AttributeQuery]
    ) -> list[CheckResult | ShareguardError]:
        """Many attribute checks from one checker in one unit of work (``check_many``)."""
        return self.attributes.check_many(principal, queries)

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

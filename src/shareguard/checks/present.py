"""Check results in the API's shape (shared by the API and the CLI)."""

from __future__ import annotations

from shareguard.checks.answers import CheckResult
from shareguard.checks.schemas import CaseOut, CheckOut


def check_out(result: CheckResult) -> CheckOut:
    c = result.check
    return CheckOut(
        check_reference=c.id,
        at=c.at,
        purpose=c.purpose,
        method=c.method,
        outcome=c.outcome,
        answer=result.answer,
        contest=result.contest,
        case=CaseOut.model_validate(result.case) if result.case else None,
        audit_entry_id=c.audit_entry_id,
    )

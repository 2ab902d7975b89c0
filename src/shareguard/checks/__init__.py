"""Real-time checks (share code, attributes), their outcomes, referrals and contests."""

from shareguard.checks import matcher
from shareguard.checks.cases import CaseService, open_case_for
from shareguard.checks.service import AttributeQuery, CheckResult, CheckService

__all__ = [
    "AttributeQuery",
    "CaseService",
    "CheckResult",
    "CheckService",
    "matcher",
    "open_case_for",
]

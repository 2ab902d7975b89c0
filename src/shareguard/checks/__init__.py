"""Real-time checks (share code, attributes), their outcomes, referrals and contests."""

from shareguard.checks import matcher
from shareguard.checks.service import AttributeQuery, CheckResult, CheckService, open_case_for

__all__ = [
    "AttributeQuery",
    "CheckResult",
    "CheckService",
    "matcher",
    "open_case_for",
]

"""Real-time checks (share code, attributes), their outcomes, referrals and contests."""

from shareguard.checks import matcher
from shareguard.checks.answers import CheckResult
from shareguard.checks.attributes import AttributeQuery
from shareguard.checks.cases import CaseService, open_case_for
from shareguard.checks.service import CheckService
from shareguard.checks.share_code import ShareCodeQuery

__all__ = [
    "AttributeQuery",
    "CaseService",
    "CheckResult",
    "CheckService",
    "ShareCodeQuery",
    "matcher",
    "open_case_for",
]

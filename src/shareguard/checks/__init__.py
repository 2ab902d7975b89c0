"""Real-time checks (share code, attributes), their outcomes, referrals and contests.

Each name loads its module on first use (``shareguard.faces.lazy``): importing the models
(as reports do) does not import the matcher and the status register behind it.
"""

from typing import TYPE_CHECKING

from shareguard.faces import lazy

if TYPE_CHECKING:
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

__getattr__ = lazy(
    __name__,
    {
        "AttributeQuery": "attributes",
        "CaseService": "cases",
        "CheckResult": "answers",
        "CheckService": "service",
        "ShareCodeQuery": "share_code",
        "matcher": "matcher",
        "open_case_for": "cases",
    },
)

"""Per-agreement value and impact reports, value assessments and Vega-Lite charts.

Importing the package adds each agreement's yearly disclosure volumes to the public
transparency register (``agreements.transparency.EXTRA_FIELDS``).
"""

from __future__ import annotations

from typing import Any

from shareguard.agreements import transparency
from shareguard.reports import charts, metrics


def _yearly_volumes(session: Any, agreement: Any) -> dict[str, Any]:
    from shareguard.reports.service import transparency_volumes

    return transparency_volumes(session, agreement)


if not any(getattr(h, "__name__", "") == "_yearly_volumes" for h in transparency.EXTRA_FIELDS):
    transparency.EXTRA_FIELDS.append(_yearly_volumes)

__all__ = ["charts", "metrics"]

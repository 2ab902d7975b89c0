"""Per-agreement value and impact reports, value assessments and Vega-Lite charts.

Each agreement's yearly disclosure volumes join the public transparency register through the
``transparency.extra_fields`` hook (``capabilities.HOOKS``).
"""

from __future__ import annotations

from shareguard.reports import charts, metrics

__all__ = ["charts", "metrics"]

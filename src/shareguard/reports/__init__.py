"""Per-agreement value and impact reports, value assessments and Vega-Lite charts."""

from shareguard.reports import charts, metrics

__all__ = ["charts", "metrics"]

"""Vega-Lite v5 chart specifications (plain JSON) the console renders with vega-embed.

Each function takes a report section and returns a complete spec with its data inlined,
so a spec can be saved, diffed and rendered without calling back to the server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def _base(title: str, values: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "data": {"values": [dict(v) for v in values]},
    }


def disclosures_over_time(rows: Sequence[Mapping[str, Any]], title: str) -> dict[str, Any]:
    """Stacked bars of disclosures per period, coloured by purpose."""
    spec = _base(title, rows)
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "x": {"field": "period", "type": "ordinal", "title": "Period"},
        "y": {"field": "count", "type": "quantitative", "title": "Disclosures"},
        "color": {"field": "purpose", "type": "nominal", "title": "Purpose"},
    }
    return spec


def outcomes(by_outcome: Mapping[str, int], title: str) -> dict[str, Any]:
    """Bars of checks by outcome."""
    values = [{"outcome": k, "count": v} for k, v in by_outcome.items()]
    spec = _base(title, values)
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "x": {"field": "outcome", "type": "nominal", "title": "Outcome"},
        "y": {"field": "count", "type": "quantitative", "title": "Checks"},
    }
    return spec


def match_funnel(matching: Mapping[str, Any], title: str) -> dict[str, Any]:
    """Candidates → reviewed → confirmed → adverse actions → overturned, as a funnel of bars."""
    stages = ["candidates", "reviewed", "confirmed", "adverse_actions", "overturned"]
    values = [
        {"stage": s.replace("_", " "), "order": i, "count": int(matching.get(s) or 0)}
        for i, s in enumerate(stages)
    ]
    spec = _base(title, values)
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "y": {"field": "stage", "type": "nominal", "sort": {"field": "order"}, "title": None},
        "x": {"field": "count", "type": "quantitative", "title": "Records"},
    }
    return spec


def yearly_volumes(rows: Sequence[Mapping[str, Any]], title: str) -> dict[str, Any]:
    """A line of disclosures per year."""
    spec = _base(title, rows)
    spec["mark"] = {"type": "line", "point": True, "tooltip": True}
    spec["encoding"] = {
        "x": {"field": "year", "type": "ordinal", "title": "Year"},
        "y": {"field": "disclosures", "type": "quantitative", "title": "Disclosures"},
    }
    return spec


def charts_for(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every chart for one report section (an agreement's or the overall one), by name."""
    label = report.get("reference") or "all agreements"
    return {
        "disclosures": disclosures_over_time(
            report["disclosures"]["by_purpose_and_period"], f"Disclosures — {label}"
        ),
        "checks": outcomes(report["checks"]["by_outcome"], f"Checks by outcome — {label}"),
        "matching": match_funnel(report["matching"], f"Match runs — {label}"),
        "yearly": yearly_volumes(report["disclosures"]["yearly"], f"Yearly volumes — {label}"),
    }

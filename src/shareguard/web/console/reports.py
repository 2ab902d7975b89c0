"""Report pages: the overall report with a comparison across agreements, and one agreement's.

Each page draws its Vega-Lite charts with vega-embed when JavaScript runs; every chart is
followed by a table of the same figures, which is all a browser without JavaScript shows.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from shareguard.agreements.models import Agreement
from shareguard.errors import NotFound
from shareguard.reports import metrics
from shareguard.reports.charts import charts_for
from shareguard.reports.present import table_rows
from shareguard.reports.service import ReportService
from shareguard.web.console.render import render
from shareguard.web.console.security import OfficerOrAuditor, load_user
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

#: The figures compared across agreements on the overview: (flattened key, column title).
COMPARED = [
    ("disclosures.total", "Disclosures"),
    ("checks.total", "Checks"),
    ("refusals.total", "Refused"),
    ("matching.error_rate", "Error rate"),
    ("corrections.corrections", "Corrections"),
    ("corrections.overdue", "Overdue notices"),
]


def _period(request: Request) -> str:
    period = request.query_params.get("period", "month")
    return period if period in metrics.PERIODS else "month"


def as_shown(title: str, value: str) -> str:
    """A figure as a reader takes it in: rates as percentages (0.3333 → 33.3%)."""
    if title.lower().endswith("rate") and value:
        try:
            return f"{float(value):.1%}"
        except ValueError:
            return value
    return value


def _section(section: dict[str, Any], prefix: str) -> dict[str, Any]:
    """One report section as the template shows it: headline figures, charts with tables."""
    return {
        "title": section["title"],
        "reference": section.get("reference"),
        "figures": [(t, as_shown(t, v)) for t, v in table_rows(section)],
        "charts": [
            {
                "id": f"chart-{prefix}-{name}",
                "spec": json.dumps(spec).replace("</", "<\\/"),
                "table": chart_table(spec),
            }
            for name, spec in charts_for(section).items()
        ],
    }


def _page(request: Request, period: str, **context: Any) -> Response:
    return render(
        request,
        "console/reports.html",
        period=period,
        period_items=[
            {"value": p, "text": p.capitalize(), "selected": p == period} for p in metrics.PERIODS
        ],
        **context,
    )


@router.get("/governance/reports", response_class=HTMLResponse)
def overview(request: Request, user: OfficerOrAuditor, session: SessionDep) -> Response:
    period = _period(request)
    report = ReportService(session).report(user.principal, period=period)
    compared = []
    for section in report.get("agreements", []):
        flat = metrics.flatten(section)
        compared.append(
            {
                "reference": section["reference"],
                "title": section["title"],
                "values": [
                    as_shown(t, "" if flat.get(k) is None else str(flat[k])) for k, t in COMPARED
                ],
            }
        )
    return _page(
        request,
        period,
        title="Reports",
        section=_section(report, "all"),
        compared=compared,
        compared_headers=[title for _, title in COMPARED],
        generated_at=report.get("generated_at", ""),
    )


@router.get("/governance/reports/{reference}", response_class=HTMLResponse)
def agreement_report(
    reference: str, request: Request, user: OfficerOrAuditor, session: SessionDep
) -> Response:
    period = _period(request)
    agreement = session.scalar(select(Agreement).where(Agreement.reference == reference))
    if agreement is None:
        raise NotFound("there is no agreement with that reference")
    section = ReportService(session).report(
        user.principal, agreement_id=agreement.id, period=period
    )
    return _page(
        request,
        period,
        title=f"Report: {agreement.reference}",
        section=_section(section, "agreement"),
        agreement=agreement,
        generated_at=section.get("generated_at", ""),
    )


# the data-table alternative ----------------------------------------------------------------
def chart_table(spec: dict[str, Any]) -> dict[str, Any]:
    """The data-table alternative to a Vega-Lite spec: one column per encoded field."""
    encoding = spec.get("encoding", {})
    columns: list[tuple[str, str]] = []
    for channel in ("x", "y", "color"):
        enc = encoding.get(channel)
        if enc and enc.get("field") and enc["field"] not in [c[0] for c in columns]:
            columns.append((enc["field"], enc.get("title") or str(enc["field"]).capitalize()))
    # Categories first (the row heading), counts after.
    columns.sort(key=lambda c: encoding.get(_channel(spec, c[0]), {}).get("type") == "quantitative")
    values = spec.get("data", {}).get("values", [])
    return {
        "caption": spec.get("title", ""),
        "headers": [title for _, title in columns],
        "rows": [[v.get(f, "") for f, _ in columns] for v in values],
    }


def _channel(spec: dict[str, Any], field_name: str) -> str:
    for channel, enc in spec.get("encoding", {}).items():
        if isinstance(enc, dict) and enc.get("field") == field_name:
            return str(channel)
    return ""

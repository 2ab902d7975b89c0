"""Top-level `shareguard report`: per-agreement value and impact, as a table, JSON or CSV."""

from __future__ import annotations

import json
import sys

import typer
from rich.table import Table

from shareguard.agreements.service import AgreementService
from shareguard.clikit import AS_OPTION, acting, cli_session, console, handle_errors
from shareguard.errors import InvalidInput
from shareguard.reports.charts import charts_for
from shareguard.reports.present import sections, table_rows, to_csv
from shareguard.reports.service import ReportService


@handle_errors
def report(
    agreement: str = typer.Option(None, "--agreement", help="Agreement id or reference"),
    format: str = typer.Option("table", "--format", help="table, json or csv"),
    period: str = typer.Option("month", help="day, month, quarter or year"),
    charts: bool = typer.Option(False, "--charts", help="Include Vega-Lite specs (json only)"),
    as_: str = AS_OPTION,
) -> None:
    """Per-agreement and overall reports: disclosures, checks, matches, errors, corrections."""
    if format not in {"table", "json", "csv"}:
        raise InvalidInput("format must be table, json or csv", field="--format")
    with cli_session() as session:
        agreement_id = None
        if agreement:
            agreement_id = AgreementService(session).resolve(agreement).id
        data = ReportService(session).report(
            acting(session, as_), agreement_id=agreement_id, period=period
        )
    if format == "json":
        if charts:
            for section in data.get("agreements", []):
                section["charts"] = charts_for(section)
            data["charts"] = charts_for(data)
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    if format == "csv":
        sys.stdout.write(to_csv(data))
        return
    for section in sections(data):
        title = section.get("reference") or "All agreements"
        if section.get("title") and section.get("reference"):
            title = f"{title} — {section['title']}"
        table = Table("Measure", "Value", title=title, title_justify="left")
        for name, value in table_rows(section):
            table.add_row(name, value)
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("report")(report)

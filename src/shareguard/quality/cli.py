"""`shareguard quality ...`: run the data-quality rules and work the findings queue."""

from __future__ import annotations

import uuid

import typer
from rich.table import Table

from shareguard.clikit import (
    AS_OPTION,
    JSON_OPTION,
    acting,
    cli_session,
    console,
    emit,
    handle_errors,
)
from shareguard.errors import InvalidInput
from shareguard.quality.schemas import FindingOut, RunOut
from shareguard.quality.service import QualityService

app = typer.Typer(help="The data-quality function: rules, findings, owners.", no_args_is_help=True)
NAME = "quality"


@app.command()
@handle_errors
def run(
    rule: list[str] = typer.Option([], "--rule", help="Only this rule (repeatable)"),
    scheduled: bool = typer.Option(False, "--scheduled", help="Mark the run as scheduled (cron)"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the rules over the register and queue new findings."""
    with cli_session() as session:
        r = QualityService(session).run(
            acting(session, as_),
            only=rule or None,
            trigger="schedule" if scheduled else "on_demand",
        )
        out = RunOut.model_validate(r)
    if not emit(out, as_json):
        counts = ", ".join(f"{k}: {v}" for k, v in out.counts.items()) or "no findings"
        console.print(f"{out.new_findings} new finding(s) ({counts})")


@app.command()
@handle_errors
def findings(
    state: str = typer.Option("open", help="open, resolved or dismissed"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The findings queue, most urgent first."""
    with cli_session() as session:
        rows = [
            FindingOut.model_validate(f)
            for f in QualityService(session).findings(acting(session, as_), state=state, limit=500)
        ]
    if emit([r.model_dump(mode="json") for r in rows], as_json):
        return
    table = Table(
        "Id", "Rule", "Record", "Severity", "Due", "Message", title=f"{len(rows)} findings"
    )
    for f in rows:
        table.add_row(
            str(f.id),
            f.rule,
            f"{f.record_kind} {f.record_id}",
            f.severity,
            str(f.due_date),
            f.message,
        )
    console.print(table)


@app.command()
@handle_errors
def resolve(
    finding_id: str,
    resolution: str = typer.Option(..., help="How it was resolved"),
    dismiss: bool = typer.Option(False, help="Not a real problem"),
    as_: str = AS_OPTION,
) -> None:
    """Close a finding (resumes suspended watch-list entries once none stays open)."""
    try:
        fid = uuid.UUID(finding_id)
    except ValueError:
        raise InvalidInput("finding id is not a valid id", field="finding_id") from None
    with cli_session() as session:
        f = QualityService(session).resolve(fid, acting(session, as_), resolution, dismiss=dismiss)
        console.print(f"Finding {f.id} {f.state}")

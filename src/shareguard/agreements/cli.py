"""`shareguard agreements ...`"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from shareguard.agreements import transparency
from shareguard.agreements.direction import operator_ids
from shareguard.agreements.present import agreement_out
from shareguard.agreements.schemas import AgreementIn
from shareguard.agreements.service import AgreementService
from shareguard.bounds import MAX_INT
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
from shareguard.yamlfile import load_model

app = typer.Typer(help="The register of data-sharing agreements.", no_args_is_help=True)
NAME = "agreements"


@app.command("list")
@handle_errors
def list_(
    state: str = typer.Option(None, help="draft, active, paused or ended"),
    purpose: str = typer.Option(None, help="Only agreements with this purpose code"),
    limit: int = typer.Option(100, min=1, max=500),
    offset: int = typer.Option(0, min=0, max=MAX_INT),
    as_json: bool = JSON_OPTION,
) -> None:
    """List agreements."""
    with cli_session() as session:
        rows, total = AgreementService(session).find(
            state=state, purpose=purpose, limit=limit, offset=offset
        )
        operators = operator_ids(session)
        out = [agreement_out(session, a, operators) for a in rows]
    if emit({"items": [o.model_dump(mode="json") for o in out], "total": total}, as_json):
        return
    table = Table(
        "Reference",
        "Title",
        "State",
        "Direction",
        "Purposes",
        "Review date",
        title=f"{total} agreements",
    )
    for a in out:
        review = f"{a.review_date or ''}" + (" [red](lapsed)[/red]" if a.review_lapsed else "")
        table.add_row(a.reference, a.title, a.state, a.direction, ", ".join(a.purposes), review)
    console.print(table)


@app.command()
@handle_errors
def show(
    agreement: str = typer.Argument(..., help="Id or reference"), as_json: bool = JSON_OPTION
) -> None:
    """Show one agreement with its checklist and history."""
    with cli_session() as session:
        out = agreement_out(session, AgreementService(session).resolve(agreement))
    if emit(out, as_json):
        return
    for field, value in out.model_dump(exclude={"events", "parties"}).items():
        console.print(f"[bold]{field}[/bold]: {value}", highlight=False)
    for p in out.parties:
        console.print(f"[bold]party[/bold]: {p.organisation} ({p.role}, {p.controller_role})")
    for e in out.events:
        console.print(
            f"[bold]{e.at:%Y-%m-%d %H:%M}[/bold] {e.action}: "
            f"{e.from_state} → {e.to_state} {e.reason}"
        )


@app.command()
@handle_errors
def create(
    file: Path = typer.Option(
        ..., "--file", "-f", help="Agreement YAML (see docs/agreement.example.yaml)"
    ),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a draft agreement from a YAML file. Nothing is written if the file is invalid."""
    data = load_model(file, AgreementIn)
    with cli_session() as session:
        agreement = AgreementService(session).create(data, acting(session, as_))
        out = agreement_out(session, agreement)
    if not emit(out, as_json):
        console.print(f"Created draft {out.reference} ({out.id})")


def _transition(action: str, help_text: str, reason_required: bool) -> None:
    @app.command(action, help=help_text)
    @handle_errors
    def command(
        agreement: str = typer.Argument(..., help="Id or reference"),
        reason: str = typer.Option(
            "" if not reason_required else ..., help="Why (kept in the history)"
        ),
        as_: str = AS_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        with cli_session() as session:
            service = AgreementService(session)
            a = service.resolve(agreement)
            out = agreement_out(
                session, service.transition(a.id, action, acting(session, as_), reason)
            )
        if not emit(out, as_json):
            console.print(f"{out.reference} is now {out.state}")


_transition(
    "activate", "Sign off and activate a draft (a governance officer other than the author).", False
)
_transition("pause", "Pause an active agreement at once.", True)
_transition("resume", "Resume a paused agreement.", False)
_transition("end", "End an agreement for good.", True)


@app.command()
@handle_errors
def export(
    format: str = typer.Option("json", help="json or csv"),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default: stdout)"),
) -> None:
    """Export the public transparency register (non-draft agreements, no personal data)."""
    if format not in {"json", "csv"}:
        raise InvalidInput("format must be json or csv", field="--format")
    with cli_session() as session:
        text = (
            json.dumps(transparency.register(session), indent=2) + "\n"
            if format == "json"
            else transparency.register_csv(session)
        )
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {output}")
    else:
        typer.echo(text, nl=False)

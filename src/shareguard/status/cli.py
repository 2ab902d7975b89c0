"""`shareguard persons ...`: caseworkers record persons, decisions and status; share codes."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.table import Table

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
from shareguard.status import sharecodes
from shareguard.status.present import person_detail
from shareguard.status.schemas import (
    DecisionIn,
    DecisionOut,
    NameIn,
    PersonIn,
    PersonOut,
    ShareCodeOut,
    StatusIn,
    StatusOut,
)
from shareguard.status.service import StatusService
from shareguard.yamlfile import load_model

app = typer.Typer(
    help="The status register: persons, decisions, status, share codes.", no_args_is_help=True
)
NAME = "persons"


def _validate(model: Any, **fields: Any) -> Any:
    try:
        return model(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = "--" + "-".join(str(p) for p in err["loc"]).replace("_", "-")
        raise InvalidInput(f"{field}: {err['msg']}", field=field) from None


@app.command()
@handle_errors
def create(
    given: str = typer.Option("", help="Given name(s)"),
    family: str = typer.Option(None, help="Family name"),
    dob: str = typer.Option(None, "--dob", help="Date of birth, YYYY-MM-DD"),
    nationality: str = typer.Option("", help="ISO 3166-1 alpha-3"),
    file: Path = typer.Option(None, "--file", "-f", help="Or a YAML file with the person"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a person (caseworker)."""
    if file is not None:
        data = load_model(file, PersonIn)
    else:
        if not family or not dob:
            raise InvalidInput("give --family and --dob, or --file", field="--family")
        data = _validate(
            PersonIn,
            names=[_validate(NameIn, given=given, family=family)],
            date_of_birth=dob,
            nationality=nationality,
        )
    with cli_session() as session:
        person = StatusService(session).create_person(data, acting(session, as_))
        out = PersonOut.model_validate(person)
    if not emit(out, as_json):
        console.print(f"Registered person {out.id}")


@app.command("list")
@handle_errors
def list_(
    limit: int = typer.Option(50, min=1, max=500),
    offset: int = typer.Option(0, min=0, max=MAX_INT),
    as_json: bool = JSON_OPTION,
) -> None:
    """List persons (ids, dates of birth, nationality) in id order."""
    with cli_session() as session:
        out = [
            PersonOut.model_validate(p)
            for p in StatusService(session).list_persons(limit=limit, offset=offset)
        ]
    if emit(out, as_json):
        return
    table = Table("Id", "Name", "Date of birth", "Nationality")
    for p in out:
        name = p.names[0] if p.names else None
        table.add_row(
            str(p.id),
            f"{name.given} {name.family}" if name else "",
            str(p.date_of_birth),
            p.nationality,
        )
    console.print(table)


@app.command()
@handle_errors
def show(person_id: uuid.UUID, as_json: bool = JSON_OPTION) -> None:
    """A person with status history and decisions; the current status is marked."""
    with cli_session() as session:
        svc = StatusService(session)
        out = person_detail(svc, svc.person(person_id))
    if emit(out, as_json):
        return
    for n in out.names:
        console.print(f"[bold]{n.kind}[/bold]: {n.given} {n.family} ({n.script})", highlight=False)
    console.print(
        f"[bold]date of birth[/bold]: {out.date_of_birth}  "
        f"[bold]nationality[/bold]: {out.nationality}",
        highlight=False,
    )
    table = Table("", "Kind", "Valid from", "Valid to", "Work", "Reason", "Id", title="Status")
    for s in out.statuses:
        table.add_row(
            "▶" if s.current else "",
            s.kind,
            str(s.valid_from),
            str(s.valid_to or ""),
            "yes" if s.may_work else "no",
            s.reason,
            str(s.id),
        )
    console.print(table)
    table = Table("", "Type", "Decided", "Appeal", "Final", "Overturned", "Id", title="Decisions")
    for d in out.decisions:
        table.add_row(
            "▶" if d.current else "",
            d.type,
            str(d.decided_on),
            d.appeal_state,
            str(d.final),
            str(d.overturned),
            str(d.id),
        )
    console.print(table)


@app.command()
@handle_errors
def decision(
    person_id: uuid.UUID,
    type: str = typer.Option(..., help="grant, refusal or curtailment"),
    decided_on: str = typer.Option(str(date.today()), help="YYYY-MM-DD"),
    appeal: str = typer.Option("none", help="none, lodged, pending or decided"),
    final: bool = typer.Option(False, "--final"),
    appeal_window_end: str = typer.Option(None, help="YYYY-MM-DD"),
    overturned: bool = typer.Option(False, "--overturned"),
    outcome: str = typer.Option(""),
    evidence: str = typer.Option("", help="Evidence reference"),
    supersedes: uuid.UUID = typer.Option(None, help="Id of the decision this replaces"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record an immigration decision (append-only; corrections supersede)."""
    data = _validate(
        DecisionIn,
        type=type,
        decided_on=decided_on,
        appeal_state=appeal,
        final=final,
        appeal_window_end=appeal_window_end,
        overturned=overturned,
        outcome=outcome,
        evidence_ref=evidence,
        supersedes_id=supersedes,
        source="cli",
    )
    with cli_session() as session:
        row = StatusService(session).record_decision(person_id, data, acting(session, as_))
        out = DecisionOut.model_validate(row)
    if not emit(out, as_json):
        console.print(f"Recorded decision {out.id}")


@app.command()
@handle_errors
def status(
    person_id: uuid.UUID,
    kind: str = typer.Option(..., help="settled, pre_settled, limited_leave or no_leave"),
    valid_from: str = typer.Option(str(date.today()), help="YYYY-MM-DD"),
    valid_to: str = typer.Option(None, help="YYYY-MM-DD"),
    work: bool = typer.Option(True, "--work/--no-work"),
    work_conditions: str = typer.Option(""),
    rent: bool = typer.Option(True, "--rent/--no-rent"),
    study: bool = typer.Option(True, "--study/--no-study"),
    public_funds: bool = typer.Option(False, "--public-funds/--no-public-funds"),
    evidence: str = typer.Option("", help="Evidence reference"),
    reason: str = typer.Option(""),
    supersedes: uuid.UUID = typer.Option(None, help="Id of the record this corrects"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a status record (append-only; a correction supersedes the wrong record)."""
    data = _validate(
        StatusIn,
        kind=kind,
        valid_from=valid_from,
        valid_to=valid_to,
        may_work=work,
        work_conditions=work_conditions,
        may_rent=rent,
        may_study=study,
        public_funds=public_funds,
        evidence_ref=evidence,
        reason=reason,
        supersedes_id=supersedes,
        source="cli",
    )
    with cli_session() as session:
        row = StatusService(session).record_status(person_id, data, acting(session, as_))
        out = StatusOut.model_validate(row)
    if not emit(out, as_json):
        console.print(f"Recorded status {out.id}")


@app.command("share-code")
@handle_errors
def share_code(
    person_id: uuid.UUID,
    purpose: str = typer.Option(..., help="e.g. right_to_work, right_to_rent"),
    days: int = typer.Option(90, min=1, max=90),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a share code for the person (shown once)."""
    with cli_session() as session:
        row, code = StatusService(session).create_share_code(
            person_id, purpose, acting(session, as_), days=days
        )
        out = {**ShareCodeOut.model_validate(row).model_dump(mode="json"), "code": code}
    if not emit(out, as_json):
        console.print(
            f"Share code [bold]{sharecodes.display(code)}[/bold] for {purpose}, "
            f"valid until {row.expires_at:%Y-%m-%d}"
        )


@app.command("revoke-code")
@handle_errors
def revoke_code(person_id: uuid.UUID, code_id: uuid.UUID, as_: str = AS_OPTION) -> None:
    """Revoke one of the person's share codes at once."""
    with cli_session() as session:
        StatusService(session).revoke_share_code(person_id, code_id, acting(session, as_))
    console.print("Revoked")

"""`shareguard check ...`: run checks as a partner user; work cases as a caseworker."""

from __future__ import annotations

import uuid
from typing import Any

import typer
from pydantic import ValidationError
from rich.table import Table

from shareguard.checks import AttributeQuery, CheckService
from shareguard.checks.cases import CaseService
from shareguard.checks.present import check_out
from shareguard.checks.schemas import AttributeCheckIn, CaseDetailOut, ShareCodeCheckIn
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

app = typer.Typer(help="Real-time status checks, referrals and contests.", no_args_is_help=True)
NAME = "check"


def _validate(model: Any, **fields: Any) -> Any:
    try:
        return model(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = "--" + "-".join(str(p) for p in err["loc"]).replace("_", "-")
        raise InvalidInput(f"{field}: {err['msg']}", field=field) from None


def _print(out: Any) -> None:
    console.print(f"[bold]{out.outcome}[/bold]  check reference {out.check_reference}")
    for k, v in (out.answer or {}).items():
        console.print(f"  {k}: {v}", highlight=False)
    if out.case:
        console.print(f"  case {out.case.id} opened; respond by {out.case.respond_by}")
    if out.contest:
        console.print(f"  {out.contest['how']}")


@app.command("share-code")
@handle_errors
def share_code(
    code: str = typer.Argument(..., help="The person's share code"),
    dob: str = typer.Option(..., "--dob", help="Date of birth, YYYY-MM-DD"),
    purpose: str = typer.Option(..., help="e.g. right_to_work"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Check by share code and date of birth (act as a partner user with --as)."""
    body = _validate(ShareCodeCheckIn, code=code, date_of_birth=dob, purpose=purpose)
    with cli_session() as session:
        out = check_out(
            CheckService(session).share_code_check(
                acting(session, as_), body.code, body.date_of_birth, body.purpose
            )
        )
    if not emit(out, as_json):
        _print(out)


@app.command()
@handle_errors
def attributes(
    family: str = typer.Option(..., help="Family name"),
    dob: str = typer.Option(..., "--dob", help="Date of birth, YYYY-MM-DD"),
    purpose: str = typer.Option(..., help="e.g. driving_licence"),
    given: str = typer.Option("", help="Given name(s)"),
    document: str = typer.Option(None, help="Document number"),
    nationality: str = typer.Option(None, help="ISO 3166-1 alpha-3"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Check by name and date of birth where the agreement allows it."""
    b = _validate(
        AttributeCheckIn,
        purpose=purpose,
        given=given,
        family=family,
        date_of_birth=dob,
        document_number=document,
        nationality=nationality,
    )
    with cli_session() as session:
        out = check_out(
            CheckService(session).attribute_check(
                acting(session, as_),
                AttributeQuery(
                    b.purpose, b.given, b.family, b.date_of_birth, b.document_number, b.nationality
                ),
            )
        )
    if not emit(out, as_json):
        _print(out)


@app.command()
@handle_errors
def cases(
    state: str = typer.Option("open", help="open, closed or all"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Referral and contest cases, soonest response date first (caseworker)."""
    with cli_session() as session:
        rows = CaseService(session).cases(
            acting(session, as_), state=None if state == "all" else state, limit=500
        )
        out = [CaseDetailOut.model_validate(c) for c in rows]
    if emit(out, as_json):
        return
    table = Table("Case", "Kind", "State", "Respond by", "Contested", "Outcome")
    for c in out:
        table.add_row(
            str(c.id),
            c.kind,
            c.state,
            str(c.respond_by),
            "yes" if c.contested_at else "",
            c.outcome,
        )
    console.print(table)


@app.command()
@handle_errors
def contest(
    check: uuid.UUID,
    statement: str = typer.Option(""),
    person: uuid.UUID = typer.Option(None, help="The person contesting (caseworker use)"),
    as_: str = AS_OPTION,
) -> None:
    """Contest a check result on the person's behalf."""
    with cli_session() as session:
        case = CaseService(session).contest(check, acting(session, as_), statement, person)
    console.print(f"Case {case.id}; respond by {case.respond_by}")


@app.command()
@handle_errors
def resolve(
    case: uuid.UUID,
    outcome: str = typer.Option(..., help="confirmed, not_confirmed or no_record"),
    note: str = typer.Option(""),
    person: uuid.UUID = typer.Option(None, help="The person the case turned out to be"),
    as_: str = AS_OPTION,
) -> None:
    """Close a case with its outcome (caseworker)."""
    with cli_session() as session:
        row = CaseService(session).resolve(case, acting(session, as_), outcome, note, person)
    console.print(f"Case {row.id} closed: {row.outcome}")

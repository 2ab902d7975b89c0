"""`shareguard locks ...`: a caseworker sets or clears a person's lock on their behalf."""

from __future__ import annotations

import uuid

import typer

from shareguard.clikit import (
    AS_OPTION,
    JSON_OPTION,
    acting,
    cli_session,
    console,
    emit,
    handle_errors,
)
from shareguard.credentials.service import LockService

locks = typer.Typer(
    help="A person's locks on their own record (set on their behalf).", no_args_is_help=True
)

LOCK_ARG = typer.Argument("attribute_checks", help="The lock: attribute_checks")


def _show(person: uuid.UUID, names: list[str], as_json: bool) -> None:
    if not emit({"person_id": str(person), "locks": names}, as_json):
        console.print(f"locks on {person}: {', '.join(names) or 'none'}", highlight=False)


@locks.command("show")
@handle_errors
def show(
    person: uuid.UUID = typer.Argument(..., help="Person id"),
    as_user: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The locks set on a person's record."""

    with cli_session() as session:
        names = LockService(session).locks(person, acting(session, as_user))
    _show(person, names, as_json)


@locks.command("set")
@handle_errors
def set_(
    person: uuid.UUID = typer.Argument(..., help="Person id"),
    lock: str = LOCK_ARG,
    as_user: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set a lock for the person (audited)."""

    with cli_session() as session:
        names = LockService(session).set_lock(person, lock, acting(session, as_user))
    _show(person, names, as_json)


@locks.command("clear")
@handle_errors
def clear(
    person: uuid.UUID = typer.Argument(..., help="Person id"),
    lock: str = LOCK_ARG,
    as_user: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Clear a lock for the person (audited)."""

    with cli_session() as session:
        names = LockService(session).clear_lock(person, lock, acting(session, as_user))
    _show(person, names, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(locks, name="locks")

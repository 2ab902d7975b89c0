"""Shared CLI plumbing: sessions, the acting user, JSON output, errors as exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.panel import Panel
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import User
from shareguard.accounts.principal import Principal
from shareguard.accounts.service import AccountService
from shareguard.config import Settings, serving_refusal, serving_warning
from shareguard.errors import InvalidInput, ShareguardError
from shareguard.storage.db import session_scope

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

AS_OPTION = typer.Option(
    None,
    "--as",
    help="Email of the console user acting (default: $SHAREGUARD_USER; else the system)",
    envvar="SHAREGUARD_USER",
)
JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON")


def handle_errors(func: F) -> F:
    """Turn domain errors into a clear message and exit code (2 for bad input, 1 otherwise)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ShareguardError as exc:
            where = f" (field: {exc.field})" if exc.field and exc.field not in exc.detail else ""
            err_console.print(
                f"[red]error:[/red] {exc.detail}{where}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(
                2 if isinstance(exc, InvalidInput) or exc.status == 422 else 1
            ) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def cli_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


def acting(session: Session, email: str | None) -> Principal:
    """The principal a CLI command acts as: a named console user, or the system operator."""

    if not email:
        return Principal(
            organisation_id=None,
            roles=frozenset({"governance_officer", "caseworker", "reviewer", "auditor", "system"}),
        )
    user = session.scalar(select(User).where(User.email == email.lower()))
    if user is None:
        raise InvalidInput("no console user with this email", field="--as")
    return AccountService(session).principal_for_user(user)


def emit(data: Any, as_json: bool) -> bool:
    """Print ``data`` as JSON when asked; returns True if it did."""
    if not as_json:
        return False
    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=2)
    elif isinstance(data, list) and data and isinstance(data[0], BaseModel):
        text = "[" + ",".join(d.model_dump_json(indent=2) for d in data) + "]"
    else:
        text = json.dumps(data, indent=2, default=str)
    sys.stdout.write(text + "\n")
    return True


def check_serving(settings: Settings, host: str) -> None:
    """Before serving: refuse (exit 2) the default secret outside demo mode, and shout about
    demo mode listening beyond loopback."""
    refusal = serving_refusal(settings)
    if refusal:
        err_console.print(f"[red]error:[/red] {refusal}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    warning = serving_warning(settings, host)
    if warning:
        err_console.print(Panel(warning, title="WARNING", style="bold red"))

"""`shareguard accounts ...`: organisations, console users and API keys."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from shareguard.accounts.schemas import KeyOut, OrganisationOut
from shareguard.accounts.service import SYSTEM, AccountService
from shareguard.agreements.service import AgreementService
from shareguard.clikit import JSON_OPTION, cli_session, console, emit, handle_errors
from shareguard.errors import InvalidInput, NotFound
from shareguard.signin.staff import change_password
from shareguard.signin.staff import set_roles as change_roles

app = typer.Typer(help="Organisations, console users and API keys.", no_args_is_help=True)
NAME = "accounts"


@app.command("orgs")
@handle_errors
def orgs(as_json: bool = JSON_OPTION) -> None:
    """List organisations."""
    with cli_session() as session:
        out = [OrganisationOut.model_validate(o) for o in AccountService(session).organisations()]
    if emit([o.model_dump(mode="json") for o in out], as_json):
        return
    table = Table("Name", "Type", "Id")
    for o in out:
        table.add_row(o.name, o.type, str(o.id))
    console.print(table)


@app.command("add-org")
@handle_errors
def add_org(name: str, type: str = typer.Option(..., help="e.g. bank, employer, agency")) -> None:
    """Add an organisation."""
    with cli_session() as session:
        org = AccountService(session).create_organisation(name, type)
    console.print(f"Added {org.name} ({org.id})")


@app.command("add-user")
@handle_errors
def add_user(
    email: str,
    organisation: str = typer.Option(..., help="Organisation name"),
    name: str = typer.Option(..., help="Display name"),
    role: list[str] = typer.Option(..., help="Role (repeatable)"),
    password: str = typer.Option(None, help="Asked for (hidden) when not given"),
    no_password: bool = typer.Option(
        False,
        "--no-password",
        help="For staff who sign in through the department's OpenID provider: no usable password",
    ),
) -> None:
    """Add a console user (the password is hashed with argon2)."""
    if no_password:
        # Random and never shown: nobody can sign in with it, and a user row needs a hash.
        password = secrets.token_urlsafe(32)
    elif password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with cli_session() as session:
        accounts = AccountService(session)
        org = accounts.organisation_by_name(organisation)
        user = accounts.create_user(org.id, email, name, role, password)
    console.print(f"Added {user.email} ({', '.join(user.roles)})")


@app.command("set-password")
@handle_errors
def set_password(
    email: str,
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Change a user's password and sign them out everywhere (audited)."""
    with cli_session() as session:
        user = AccountService(session).user_by_email(email)
        if user is None:
            raise InvalidInput("no console user with this email", field="email")
        ended = change_password(session, user.id, password)
    console.print(f"Password changed; {ended} session(s) signed out.")


@app.command("set-roles")
@handle_errors
def set_roles(
    email: str, role: list[str] = typer.Option(..., help="Role (repeatable): the whole new set")
) -> None:
    """Replace a user's roles (audited); their sessions end so pages are re-decided."""
    with cli_session() as session:
        user = AccountService(session).user_by_email(email)
        if user is None:
            raise InvalidInput("no console user with this email", field="email")
        change_roles(session, user.id, role)
        roles = ", ".join(user.roles)
    console.print(f"Roles now: {roles}")


def _agreement_id(session: Session, reference: str) -> uuid.UUID:
    try:
        return AgreementService(session).resolve(reference).id
    except NotFound:
        raise InvalidInput(f"no agreement {reference}", field="--agreement") from None


@app.command("issue-key")
@handle_errors
def issue_key(
    organisation: str = typer.Option(..., help="Organisation name"),
    name: str = typer.Option(..., help="What the key is for"),
    agreement: list[str] = typer.Option(
        [], help="Limit to this agreement: reference or id (repeatable)"
    ),
    expires: datetime = typer.Option(None, help="Expiry (ISO 8601, UTC)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Issue an API key. The key is printed once; only its hash is kept."""
    with cli_session() as session:
        accounts = AccountService(session)
        org = accounts.organisation_by_name(organisation)
        ids = [_agreement_id(session, a) for a in agreement]
        expires_at = expires.astimezone() if expires else None
        key, token = accounts.issue_key(
            org.id, name, agreement_ids=ids, expires_at=expires_at, principal=SYSTEM
        )
    if not emit({**KeyOut.model_validate(key).model_dump(mode="json"), "token": token}, as_json):
        console.print(
            f"Key {key.id} for {organisation}:\n{token}\nStore it now: it is not shown again."
        )


@app.command("keys")
@handle_errors
def keys(
    organisation: str = typer.Option(..., help="Organisation name"), as_json: bool = JSON_OPTION
) -> None:
    """List an organisation's API keys (never their secrets)."""
    with cli_session() as session:
        accounts = AccountService(session)
        out = [
            KeyOut.model_validate(k)
            for k in accounts.keys(accounts.organisation_by_name(organisation).id)
        ]
    if emit([k.model_dump(mode="json") for k in out], as_json):
        return
    table = Table("Id", "Name", "Prefix", "Expires", "Revoked")
    for k in out:
        table.add_row(str(k.id), k.name, k.prefix, str(k.expires_at or ""), str(k.revoked_at or ""))
    console.print(table)


@app.command("revoke-key")
@handle_errors
def revoke_key(key_id: uuid.UUID) -> None:
    """Revoke an API key at once."""
    with cli_session() as session:
        AccountService(session).revoke_key(key_id)
    console.print(f"Revoked {key_id}")


@app.command("rotate-key")
@handle_errors
def rotate_key(key_id: uuid.UUID, overlap_days: int = typer.Option(7, min=0, max=90)) -> None:
    """Issue a successor key; the old one keeps working for the overlap, then expires."""

    with cli_session() as session:
        new, token = AccountService(session).rotate_key(
            key_id, overlap=timedelta(days=overlap_days)
        )
    console.print(f"New key {new.id}:\n{token}\nThe old key expires in {overlap_days} days.")

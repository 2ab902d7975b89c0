"""`shareguard credential ...`: issue, list, revoke, publish; and the standalone verifier.

``verify`` needs no database and no network: only the issuer's public key (and, if given, a
revocation list file). It is by definition not audited: nothing is sent anywhere.

`shareguard locks ...` (``locks``): a caseworker sets or clears a person's lock on their behalf."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import typer
from rich.table import Table

from shareguard.clikit import (
    AS_OPTION,
    JSON_OPTION,
    acting,
    cli_session,
    console,
    emit,
    err_console,
    handle_errors,
)
from shareguard.config import get_settings
from shareguard.credentials import format as fmt
from shareguard.credentials import keys
from shareguard.credentials.service import CredentialService, LockService
from shareguard.errors import InvalidInput

app = typer.Typer(
    help="Offline-verifiable status credentials: issue, revoke, verify.", no_args_is_help=True
)
NAME = "credential"


def _text_or_file(value: str, what: str) -> str:
    """``-`` for stdin, an existing file's text, or the value itself (e.g. a scanned QR text)."""
    if value == "-":
        return sys.stdin.read()
    try:
        path = Path(value)
        if len(value) < 4096 and path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        pass
    if what != "credential" and "\n" not in value and not value.lstrip().startswith(("{", "-")):
        raise InvalidInput(f"no such file: {value}", field=f"--{what}")
    return value


def _revocation_text(source: str) -> str:
    if source.startswith(("https://", "http://")):
        try:
            resp = httpx.get(source, timeout=10.0, headers={"Accept": "application/json"})
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise InvalidInput(
                f"could not fetch the revocation list ({type(exc).__name__})",
                field="--revocation-list",
            ) from None
        return resp.text
    return _text_or_file(source, "revocation-list")


def _parse_at(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("--at is not an ISO 8601 time", field="--at") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@app.command()
@handle_errors
def verify(
    credential: str = typer.Argument(
        ...,
        help="A credential file (.jwt, or the printable .html page), the text a QR scanner "
        "read, or - for standard input",
    ),
    public_key: str = typer.Option(
        ..., "--public-key", help="The issuer's public key: a PEM or JWK file, or its text"
    ),
    revocation_list: str | None = typer.Option(
        None, "--revocation-list", help="A signed revocation list: file, or URL (needs network)"
    ),
    at: str | None = typer.Option(None, "--at", help="Verify as at this time (default: now)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Verify a credential offline. Exit 0 if valid, 1 if not, 2 if the input is unusable."""
    key = fmt.load_public_key(_text_or_file(public_key, "public-key"))
    revocations = (
        fmt.read_revocation_list(_revocation_text(revocation_list), key)
        if revocation_list
        else None
    )
    result = fmt.verify(
        _text_or_file(credential, "credential"), key, at=_parse_at(at), revocations=revocations
    )
    if not emit(result.as_dict(), as_json):
        _print_verification(result)
    if not result.valid:
        raise typer.Exit(1)


def _print_verification(result: fmt.Verification) -> None:
    if result.valid:
        console.print(f"[green bold]VALID[/green bold] {result.reason}", highlight=False)
    else:
        console.print(f"[red bold]NOT VALID[/red bold] {result.reason}", highlight=False)
    if result.subject:
        table = Table("Field", "Value", title=f"Credential {result.credential_id}")
        for name, value in result.subject.items():
            table.add_row(name, "yes" if value is True else "no" if value is False else str(value))
        console.print(table)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


# commands that use the database --------------------------------------------------------------
@app.command()
@handle_errors
def issue(
    person: uuid.UUID = typer.Argument(..., help="Person id"),
    purpose: str = typer.Option("right_to_work", help="One purpose, e.g. right_to_work"),
    days: int = typer.Option(30, min=1, max=30, help="Days valid (never past the status's end)"),
    out: Path | None = typer.Option(None, "--out", help="Write the credential (.jwt) here"),
    page: Path | None = typer.Option(None, "--page", help="Write the printable page (.html)"),
    as_user: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Issue a credential on a person's behalf (a caseworker helping them)."""

    with cli_session() as session:
        principal = acting(session, as_user)
        svc = CredentialService(session)
        row = svc.issue(person, purpose, principal, days=days)
        cid, token, until = row.id, row.token, row.valid_until
        html = svc.page(row) if page else None
    if out:
        out.write_text(token + "\n", encoding="utf-8")
    if page and html:
        page.write_text(html, encoding="utf-8")
    data = {"id": str(cid), "purpose": purpose, "valid_until": fmt.iso(until)}
    if emit({**data, "credential": token}, as_json):
        return
    console.print(f"issued credential {cid}, valid until {fmt.iso(until)}", highlight=False)
    if out:
        console.print(f"credential written to {out}", highlight=False)
    if page:
        console.print(f"printable page written to {page}", highlight=False)
    if not out and not page:
        sys.stdout.write(token + "\n")


@app.command("list")
@handle_errors
def list_(
    person: uuid.UUID = typer.Argument(..., help="Person id"),
    as_user: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A person's credentials, newest first."""

    with cli_session() as session:
        rows = CredentialService(session).for_person(person, acting(session, as_user))
        data = [
            {
                "id": str(r.id),
                "purpose": r.purpose,
                "issued_at": fmt.iso(r.issued_at),
                "valid_until": fmt.iso(r.valid_until),
                "revoked_at": fmt.iso(r.revoked_at) if r.revoked_at else None,
            }
            for r in rows
        ]
    if emit(data, as_json):
        return
    table = Table("Id", "Purpose", "Issued", "Valid until", "Revoked", title="Credentials")
    for d in data:
        table.add_row(
            d["id"], d["purpose"], d["issued_at"], d["valid_until"], d["revoked_at"] or ""
        )
    console.print(table)


@app.command()
@handle_errors
def revoke(
    credential_id: uuid.UUID = typer.Argument(..., help="Credential id"),
    reason: str = typer.Option(
        "person_request", help="lost, status_changed, person_request or issued_in_error"
    ),
    as_user: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Revoke a credential: online verification refuses it from now on."""

    with cli_session() as session:
        row = CredentialService(session).revoke(credential_id, acting(session, as_user), reason)
        data = {
            "id": str(row.id),
            "revoked_at": fmt.iso(row.revoked_at) if row.revoked_at else None,
        }
    if not emit(data, as_json):
        console.print(f"credential {data['id']} revoked at {data['revoked_at']}", highlight=False)


@app.command("public-key")
@handle_errors
def public_key_(
    jwk: bool = typer.Option(False, "--jwk", help="Print the JWK instead of PEM"),
) -> None:
    """Print the issuing public key: what a checker needs to verify offline."""

    key = keys.public_key(get_settings().key_dir)
    sys.stdout.write(
        json.dumps(fmt.public_jwk(key), indent=2) + "\n" if jwk else fmt.public_pem(key)
    )


@app.command()
@handle_errors
def revocations(
    out: Path | None = typer.Option(None, "--out", help="Write the signed list here"),
) -> None:
    """Sign and print the current revocation list (for checkers who verify offline)."""

    with cli_session() as session:
        token = CredentialService(session).revocation_list().token
    if out:
        out.write_text(token + "\n", encoding="utf-8")
        console.print(f"revocation list written to {out}", highlight=False)
    else:
        sys.stdout.write(token + "\n")


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

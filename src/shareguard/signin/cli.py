"""`shareguard signin ...`: shareguard's own OpenID client keys, and partners' machine clients."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from shareguard.accounts.service import AccountService
from shareguard.agreements.service import AgreementService
from shareguard.clikit import JSON_OPTION, cli_session, console, emit, handle_errors
from shareguard.config import get_settings
from shareguard.errors import InvalidInput, NotFound
from shareguard.signin import keys as client_keys
from shareguard.signin.clients import ClientService
from shareguard.signin.schemas import ClientOut

app = typer.Typer(
    help="Sign-in: shareguard's OpenID client keys; partners' machine clients (RFC 7523).",
    no_args_is_help=True,
)
NAME = "signin"
#: A JWK is a few hundred bytes; a file much larger is not one.
MAX_JWK_BYTES = 16 * 1024


@app.command("client-key")
@handle_errors
def client_key(
    client: str = typer.Argument(..., help="person or staff"),
    pem: bool = typer.Option(False, "--pem", help="PEM (One Login's form) instead of a JWK"),
) -> None:
    """Print the public key shareguard signs its client assertions with, for registration
    with the provider (created on first use; the private key never leaves the key folder)."""
    if client not in client_keys.CLIENTS:
        raise InvalidInput("the client is person or staff", field="client")
    key_dir = get_settings().key_dir
    if pem:
        typer.echo(client_keys.public_pem(key_dir, client), nl=False)
    else:
        typer.echo(json.dumps(client_keys.public_jwk(key_dir, client), indent=2))


def _read_jwk(path: Path) -> object:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_JWK_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})", field="--jwk") from None
    if len(raw) > MAX_JWK_BYTES:
        raise InvalidInput(f"{path}: larger than a JWK can be", field="--jwk")
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput(
            f"{path}: not JSON (give the public key as a JWK)", field="--jwk"
        ) from None


@app.command("register-client")
@handle_errors
def register_client(
    organisation: str = typer.Option(..., help="Organisation name"),
    name: str = typer.Option(..., help="What the client is"),
    jwk: Path = typer.Option(..., help="File holding the client's public key as a JWK"),
    agreement: list[str] = typer.Option(
        [], help="Limit to this agreement: reference or id (repeatable)"
    ),
    expires: datetime = typer.Option(None, help="Expiry (ISO 8601, UTC)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a partner's machine client by its public key (audited as client.register)."""
    key = _read_jwk(jwk)
    with cli_session() as session:
        org = AccountService(session).organisation_by_name(organisation)
        ids = []
        for ref in agreement:
            try:
                ids.append(AgreementService(session).resolve(ref).id)
            except NotFound:
                raise InvalidInput(f"no agreement {ref}", field="--agreement") from None
        client = ClientService(session).register(
            org.id,
            name,
            key,
            agreement_ids=ids,
            expires_at=expires.astimezone() if expires else None,
        )
        out = ClientOut.model_validate(client)
    if not emit(out.model_dump(mode="json"), as_json):
        console.print(
            f"Client {out.id} for {organisation}\nclient_id: {out.client_id}\n"
            "Its assertions carry this client_id as iss and sub."
        )


@app.command("clients")
@handle_errors
def clients(
    organisation: str = typer.Option(..., help="Organisation name"), as_json: bool = JSON_OPTION
) -> None:
    """List an organisation's machine clients."""
    with cli_session() as session:
        org = AccountService(session).organisation_by_name(organisation)
        out = [ClientOut.model_validate(c) for c in ClientService(session).clients(org.id)]
    if emit([c.model_dump(mode="json") for c in out], as_json):
        return
    table = Table("Id", "Name", "client_id", "Key id", "Expires", "Revoked")
    for c in out:
        table.add_row(
            str(c.id),
            c.name,
            c.client_id,
            str(c.jwk.get("kid", "")),
            str(c.expires_at or ""),
            str(c.revoked_at or ""),
        )
    console.print(table)


@app.command("revoke-client")
@handle_errors
def revoke_client(client_key_id: uuid.UUID) -> None:
    """Revoke a client at once; its access tokens stop working (audited as client.revoke)."""
    with cli_session() as session:
        ClientService(session).revoke(client_key_id)
    console.print(f"Revoked {client_key_id}")

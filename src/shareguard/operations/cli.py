"""`shareguard backup ...`: make a backup while serving; restore one into an empty database."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shareguard.audit.signing import Verifier
from shareguard.clikit import JSON_OPTION, console, emit, err_console, handle_errors
from shareguard.config import get_settings
from shareguard.errors import InvalidInput
from shareguard.operations import backup
from shareguard.operations.backup import PASSPHRASE_ENV
from shareguard.storage import db

app = typer.Typer(
    help="Backups: make one while serving; restore one into an empty database and verify it.",
    no_args_is_help=True,
)
NAME = "backup"

PASSPHRASE_FILE = typer.Option(
    None,
    "--passphrase-file",
    help="File whose first line is the keys' passphrase (else $SHAREGUARD_BACKUP_PASSPHRASE, "
    "else asked for)",
    dir_okay=False,
)


def _passphrase(path: Path | None, *, confirm: bool) -> str:

    if path is not None:
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError):
            raise InvalidInput(f"cannot read {path}", field="--passphrase-file") from None
        return lines[0] if lines else ""
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    text: str = typer.prompt(
        "Passphrase for the private keys", hide_input=True, confirmation_prompt=confirm, err=True
    )
    return text


@app.command("create")
@handle_errors
def create(
    directory: Path = typer.Argument(..., help="A new (or empty) directory for this backup"),
    include_private_keys: bool = typer.Option(
        False,
        "--include-private-keys",
        help="Also export the private signing keys, encrypted with a passphrase",
    ),
    passphrase_file: Path = PASSPHRASE_FILE,
    as_json: bool = JSON_OPTION,
) -> None:
    """Back up the database (consistent while serving), the data files and the public keys."""

    passphrase = None
    if include_private_keys:
        passphrase = _passphrase(passphrase_file, confirm=True)
        backup.check_passphrase(passphrase)
    with err_console.status("backing up", spinner="dots"):
        made = backup.create(directory, db.get_engine(), get_settings(), passphrase=passphrase)
    out = made.as_dict()
    if emit(out, as_json):
        return
    size = f"{out['bytes'] / 1_000_000:.1f} MB"
    checkpoint = (
        f"signed checkpoint at {out['checkpoint_size']}"
        if out["checkpoint_size"] is not None
        else "no checkpoint"
    )
    console.print(
        f"[green]backup {out['backup_id']}[/green] written to {directory}: {out['backend']}, "
        f"{out['audit_log_size']} audit entries ({checkpoint}), {out['files']} files, {size}"
        + (", private keys encrypted" if out["private_keys"] else "")
        + f", {out['seconds']:.2f} s",
        highlight=False,
    )


@app.command("restore")
@handle_errors
def restore(
    directory: Path = typer.Argument(..., help="A backup made by `shareguard backup create`"),
    with_private_keys: bool = typer.Option(
        False,
        "--with-private-keys",
        help="Also restore the encrypted private keys into the key directory",
    ),
    passphrase_file: Path = PASSPHRASE_FILE,
    public_key: str = typer.Option(
        None,
        "--public-key",
        help="The log's published verifier key (or a file holding it) to check the restored "
        "log against; default: the key the backup names",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Restore into an EMPTY database, then verify the log as `audit verify` does and check it
    extends the backup's signed checkpoint; exit 1 (and nothing kept) if it does not."""

    verifier = None
    if public_key:
        path = Path(public_key)
        text = path.read_text() if "+" not in public_key and path.exists() else public_key
        verifier = Verifier.parse(text)
    backup.read_manifest(directory)  # refuse a bad backup before asking for a passphrase
    passphrase = _passphrase(passphrase_file, confirm=False) if with_private_keys else None
    columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("verify", total=None)
        done = backup.restore(
            directory,
            db.get_engine(),
            get_settings(),
            passphrase=passphrase,
            verifier=verifier,
            progress=lambda n, of: bar.update(task, completed=n, total=of),
        )
    out = done.as_dict()
    if emit(out, as_json):
        return
    checked = (
        f"; extends the backup's signed checkpoint at {out['consistent_with_checkpoint']}"
        if out["consistent_with_checkpoint"] is not None
        else ""
    )
    console.print(
        f"[green]restored[/green] backup {out['backup_id']} ({out['backend']}): "
        f"{out['entries']} entries, {out['checkpoints']} checkpoints verified{checked}"
        + (f"; {out['pending']} entries wait for the integrator" if out["pending"] else "")
        + f"; {out['seconds']:.2f} s",
        highlight=False,
    )
    if out["keys_restored"]:
        console.print(f"keys restored: {', '.join(out['keys_restored'])}", highlight=False)
    for warning in out["warnings"]:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)

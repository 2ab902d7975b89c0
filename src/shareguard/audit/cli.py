"""`shareguard audit ...`: verify the log, make checkpoints, give and check proofs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from shareguard.audit.integrator import catch_up
from shareguard.audit.log import StoredTree
from shareguard.audit.present import access_item_out, checkpoint_out, entry_out, public_key_out
from shareguard.audit.proofs import ProofInvalid, verify_bundle
from shareguard.audit.service import ACCESS_LOG_READERS, AuditService, signer_for
from shareguard.audit.signing import Verifier
from shareguard.audit.verify import VerifyReport
from shareguard.bounds import MAX_INT
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
from shareguard.errors import InvalidInput

app = typer.Typer(
    help="The tamper-evident audit log: verify, checkpoints, proofs.", no_args_is_help=True
)
NAME = "audit"

#: Logs at least this long get a progress bar while verifying.
PROGRESS_FROM = 20_000


def _verifier(key: str | None) -> Any:

    if key is None:
        return None
    path = Path(key)
    text = path.read_text() if "+" not in key and path.exists() else key
    return Verifier.parse(text)


@app.command()
@handle_errors
def verify(
    public_key: str = typer.Option(
        None,
        "--public-key",
        help="Verifier key (or a file holding it); default: this installation's key",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recompute the tree from the entries, check every checkpoint; exit 1 at the first problem."""

    _catch_up()
    with cli_session() as session:
        svc = AuditService(session)
        verifier = _verifier(public_key) or svc.public_key()
        total = StoredTree(session).size()
        report: VerifyReport
        if total >= PROGRESS_FROM and not as_json:
            columns = (
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=err_console, transient=True) as bar:
                task = bar.add_task("verify", total=total)
                report = svc.verify(
                    verifier, lambda done, of: bar.update(task, completed=done, total=of)
                )
        else:
            report = svc.verify(verifier)
    out = {
        "ok": report.ok,
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "pending": report.pending,
        "root_hash": report.root.hex(),
        "problems": [
            {"seq": p.seq, "checkpoint_id": p.checkpoint_id, "message": p.message}
            for p in report.problems
        ],
    }
    if not emit(out, as_json):
        if report.ok:
            console.print(
                f"[green]OK[/green]: {report.entries} entries, {report.checkpoints} checkpoints "
                f"verified; root {report.root.hex()}"
                + (f" ({report.pending} entries still pending)" if report.pending else ""),
                highlight=False,
            )
        else:
            problem = report.problems[0]
            where = (
                f"entry #{problem.seq}"
                if problem.seq is not None
                else f"checkpoint {problem.checkpoint_id}"
            )
            err_console.print(f"[red]FAILED[/red] at {where}: {problem.message}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@handle_errors
def checkpoint(as_json: bool = JSON_OPTION) -> None:
    """Sign a checkpoint of the log now (none if the log has not grown since the last)."""

    with cli_session() as session:
        out = checkpoint_out(AuditService(session).checkpoint())
    if not emit(out, as_json):
        typer.echo(out.note, nl=False)


#: Exit code of `audit proof --entry-id` while the entry waits for the integrator.
EXIT_PENDING = 3


def _catch_up() -> int:
    """Integrate what is pending (or wait for the running integrator); returns what is left."""

    with cli_session() as session:
        return catch_up(session)


@app.command()
@handle_errors
def proof(
    entry: int = typer.Option(
        None, "--entry", min=0, max=MAX_INT, help="Inclusion proof for this sequence number"
    ),
    entry_id: str = typer.Option(
        None, "--entry-id", help="Inclusion proof for this entry id (as a check's answer names it)"
    ),
    size: int = typer.Option(
        None, "--size", min=1, max=MAX_INT, help="Tree size (default: latest checkpoint)"
    ),
    old: int = typer.Option(
        None, "--old", min=0, max=MAX_INT, help="Consistency proof from this tree size ..."
    ),
    new: int = typer.Option(
        None, "--new", min=0, max=MAX_INT, help="... to this one (default: latest checkpoint)"
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Write the bundle here instead of stdout"),
) -> None:
    """Print an inclusion (--entry, --entry-id) or consistency (--old) proof bundle as JSON.

    An entry not yet integrated prints a "pending" status as JSON and exits 3: ask again.
    """

    if sum(x is not None for x in (entry, entry_id, old)) != 1:
        raise InvalidInput("give one of --entry N, --entry-id ID or --old SIZE", field="--entry")
    wanted: uuid.UUID | None = None
    if entry_id is not None:
        try:
            wanted = uuid.UUID(entry_id)
        except ValueError:
            raise InvalidInput("not an entry id (UUID)", field="--entry-id") from None
    _catch_up()
    with cli_session() as session:
        svc = AuditService(session)
        if wanted is not None:
            _, found = svc.entry_proof(wanted)
            if found is None:
                typer.echo(json.dumps({"status": "pending", "entry_id": str(wanted)}))
                err_console.print(
                    "pending: the entry is recorded and waits for the integrator; ask again shortly"
                )
                raise typer.Exit(EXIT_PENDING)
            bundle = found
        elif entry is not None:
            bundle = svc.inclusion(entry, size, sign_if_needed=True)
        else:
            bundle = svc.consistency(old, new)
    text = json.dumps(bundle, indent=2) + "\n"
    if out:
        out.write_text(text)
        err_console.print(f"wrote {out}")
    else:
        typer.echo(text, nl=False)


@app.command("verify-proof")
@handle_errors
def verify_proof(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Proof bundle JSON"),
    public_key: str = typer.Option(
        ..., "--public-key", help="The log's verifier key, or a file holding it"
    ),
) -> None:
    """Check a proof bundle with nothing but the bundle and the public key (no database)."""

    try:
        bundle = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"{file} is not JSON (line {getattr(exc, 'lineno', '?')})", field="FILE"
        ) from None
    try:
        summary = verify_bundle(bundle, _verifier(public_key))
    except ProofInvalid as exc:
        err_console.print(f"[red]FAILED[/red]: {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[green]{summary}[/green]", highlight=False)


@app.command("public-key")
@handle_errors
def public_key(as_json: bool = JSON_OPTION) -> None:
    """Print the log's verifier key (created on first use)."""

    out = public_key_out(signer_for(get_settings()).verifier)
    if not emit(out, as_json):
        typer.echo(out.vkey)


@app.command()
@handle_errors
def tail(
    limit: int = typer.Option(20, min=1, max=500), as_: str = AS_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """The newest entries, newest first."""

    _catch_up()
    with cli_session() as session:
        rows = [entry_out(e) for e in AuditService(session).tail(acting(session, as_), limit)]
    if emit(rows, as_json):
        return
    table = Table(
        "#", "When", "Action", "Decision", "Agreement", "Subject", title=f"last {len(rows)} entries"
    )
    for e in rows:
        table.add_row(
            str(e.seq),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.action,
            e.decision or "",
            str(e.agreement_id or ""),
            e.subject_ref or "",
        )
    console.print(table)


@app.command("who-checked")
@handle_errors
def who_checked(
    person_id: str = typer.Argument(..., help="The person's id"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Who checked a person's data: when, which organisation, under which agreement and purpose."""

    try:
        pid = uuid.UUID(person_id)
    except ValueError:
        raise InvalidInput("not a person id (UUID)", field="PERSON_ID") from None
    with cli_session() as session:
        principal = acting(session, as_)
        items = AuditService(session).access_log(pid, principal)
        rows = [access_item_out(i, staff=principal.has(*ACCESS_LOG_READERS)) for i in items]
    if emit([r.model_dump(mode="json") for r in rows], as_json):
        return
    table = Table(
        "#",
        "When",
        "Organisation",
        "From → to",
        "Agreement",
        "Purpose",
        "Outcome",
        title=f"{len(rows)} entries",
    )
    for r in rows:
        if r.withheld and r.at is None:
            table.add_row(str(r.seq), "", r.withheld, "", "", "", "")
            continue
        outcome = (r.outcome or "") + (f" [yellow]({r.withheld})[/yellow]" if r.withheld else "")
        outcome += f" [dim]({r.deleted})[/dim]" if r.deleted else ""
        table.add_row(
            str(r.seq),
            f"{r.at:%Y-%m-%d %H:%M}" if r.at else "",
            r.organisation or "",
            f"{r.discloser} → {r.recipient}" if r.discloser and r.recipient else "",
            r.agreement_reference or "",
            r.purpose or "",
            outcome,
        )
    console.print(table)


@app.command()
@handle_errors
def exemptions(as_json: bool = JSON_OPTION) -> None:
    """How many entries each exemption from subject access was applied to."""

    with cli_session() as session:
        counts = AuditService(session).exemption_counts()
    if emit(counts, as_json):
        return
    table = Table("Exemption", "Entries", title="Exemptions applied")
    for name, n in sorted(counts.items()):
        table.add_row(name, str(n))
    console.print(table)

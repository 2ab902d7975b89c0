"""`shareguard retention ...`: run retention, place and release legal holds, report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
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
from shareguard.errors import InvalidInput
from shareguard.retention import tasks
from shareguard.retention.service import RetentionService

app = typer.Typer(
    help="Retention: delete what is past its period, legal holds, reports.", no_args_is_help=True
)
NAME = "retention"
#: Exit code of `retention run` stopped part-way (by Ctrl-C or SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "not an ISO 8601 date or time (e.g. 2027-06-01 or 2027-06-01T00:00:00+00:00)",
            field="--at",
        ) from None
    if not 1900 <= at.year <= 9998:
        raise InvalidInput("the year must be between 1900 and 9998", field="--at")
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _counts_table(title: str, counts: dict[str, dict[str, int]]) -> Table:
    table = Table("Agreement", "Kind of record", "Records", title=title)
    for ref in sorted(counts):
        for kind, n in sorted(counts[ref].items()):
            table.add_row(ref, kind, str(n))
    return table


@app.command("run")
@handle_errors
def run_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go; write nothing"),
    at: str = typer.Option(
        None, "--at", help="Judge periods as of this time (ISO 8601; default now)"
    ),
    batch: int = typer.Option(None, "--batch", min=1, max=10_000, help="Records per batch"),
    agreement: str = typer.Option(
        None, "--agreement", help="Only this agreement's rules (reference or id)"
    ),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Erase what is past its retention period, batch by batch; resumes an unfinished run."""

    moment = _moment(at)
    principal = None
    if as_:
        with cli_session() as session:
            principal = acting(session, as_)
    if dry_run:
        outcome = tasks.run(at=moment, dry_run=True, scope=agreement or "")
    else:
        columns = (
            TextColumn("erasing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        begun: list[uuid.UUID] = []
        erased = [0]
        with Progress(*columns, console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("retention", total=None)

            def started(run_id: uuid.UUID, resumed: bool, left: int) -> None:
                begun.append(run_id)
                bar.update(task, total=left)
                if resumed and not as_json:
                    err_console.print(f"resuming unfinished run {run_id}")

            def advanced(n: int) -> None:
                erased[0] += n
                bar.advance(task, n)

            try:
                outcome = tasks.run(
                    at=moment,
                    principal=principal,
                    batch=batch,
                    progress=advanced,
                    started=started,
                    scope=agreement or "",
                )
            except KeyboardInterrupt:
                # Each batch is its own unit of work: the one under way was undone, those
                # before it are kept, and the run stays open for the next start to resume.
                bar.stop()
                run = f" run {begun[0]}" if begun else ""
                err_console.print(
                    f"stopped: {erased[0]} records erased so far; `shareguard retention run` "
                    f"resumes{run} where it stopped (with its own clock and scope)",
                    highlight=False,
                    soft_wrap=True,
                )
                raise typer.Exit(EXIT_INTERRUPTED) from None
    if emit(outcome.as_dict(), as_json):
        return
    verb = "would erase" if dry_run else "erased"
    console.print(
        _counts_table(
            f"Retention as of {outcome.as_of:%Y-%m-%d %H:%M} UTC: {verb} {outcome.total} records",
            outcome.erased,
        )
    )
    held = sum(n for kinds in outcome.held.values() for n in kinds.values())
    if held:
        console.print(
            _counts_table(f"Kept: {held} under a legal hold or still in use", outcome.held)
        )
    if not dry_run:
        console.print(f"run {outcome.run_id}; audit entry {outcome.audit_entry_id}")


@app.command("hold")
@handle_errors
def hold(
    reason: str = typer.Option(..., "--reason", help="Why (kept on the hold, never logged)"),
    person: str = typer.Option(None, "--person", help="The person's id"),
    agreement: str = typer.Option(None, "--agreement", help="Agreement reference or id"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Place a legal hold on a person or an agreement: retention deletes none of their records."""

    person_id = None
    if person:
        try:
            person_id = uuid.UUID(person)
        except ValueError:
            raise InvalidInput("not a person id (UUID)", field="--person") from None
    with cli_session() as session:
        principal = acting(session, as_)
        row = RetentionService(session).place_hold(
            principal, reason, person_id=person_id, agreement=agreement
        )
        out = {"hold_id": str(row.id), "person_id": person, "agreement": agreement}
    if not emit(out, as_json):
        console.print(f"legal hold {out['hold_id']} placed")


@app.command("release")
@handle_errors
def release(
    hold_id: str = typer.Argument(..., help="The hold's id"),
    reason: str = typer.Option(..., "--reason"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Release a legal hold; the records go at the next run if past their period."""

    try:
        hid = uuid.UUID(hold_id)
    except ValueError:
        raise InvalidInput("not a hold id (UUID)", field="HOLD_ID") from None
    with cli_session() as session:
        row = RetentionService(session).release_hold(hid, acting(session, as_), reason)
        out = {"hold_id": str(row.id), "released_at": row.released_at}
    if not emit(out, as_json):
        console.print(f"legal hold {hold_id} released")


@app.command("holds")
@handle_errors
def holds(
    all_: bool = typer.Option(False, "--all", help="Include released holds"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List legal holds (active ones by default)."""

    with cli_session() as session:
        rows: list[dict[str, Any]] = [
            {
                "hold_id": str(h.id),
                "person_id": str(h.person_id) if h.person_id else None,
                "agreement_id": str(h.agreement_id) if h.agreement_id else None,
                "reason": h.reason,
                "placed_at": h.placed_at,
                "released_at": h.released_at,
            }
            for h in RetentionService(session).holds(acting(session, as_), active=not all_)
        ]
    if emit(rows, as_json):
        return
    table = Table("Hold", "On", "Placed", "Released", "Reason", title=f"{len(rows)} legal holds")
    for r in rows:
        on = f"person {r['person_id']}" if r["person_id"] else f"agreement {r['agreement_id']}"
        table.add_row(
            r["hold_id"],
            on,
            f"{r['placed_at']:%Y-%m-%d}",
            f"{r['released_at']:%Y-%m-%d}" if r["released_at"] else "",
            r["reason"],
        )
    console.print(table)


@app.command("report")
@handle_errors
def report(
    agreement: str = typer.Option(None, "--agreement", help="One agreement (reference or id)"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """What retention erased and when, per agreement and kind of record, with the rules."""

    with cli_session() as session:
        data = RetentionService(session).report(acting(session, as_), agreement)
    if emit(data, as_json):
        return
    table = Table("Agreement", "Rules", "Erased", "First", "Last", title="Retention")
    for a in data["agreements"]:
        rules = "\n".join(f"{k}: {v}" for k, v in a["rules"].items())
        erased = "\n".join(f"{e['records']} {e['kind']}" for e in a["erased"])
        first = "\n".join(e["first"][:10] for e in a["erased"])
        last = "\n".join(e["last"][:10] for e in a["erased"])
        table.add_row(a["reference"], rules, erased, first, last)
    console.print(table)
    runs = Table("Run", "As of", "Finished", "Erased", "Held", title="Recent runs")
    for r in data["runs"][:10]:
        total = sum(n for kinds in r["erased"].values() for n in kinds.values())
        held = sum(n for kinds in r["held"].values() for n in kinds.values())
        runs.add_row(
            r["id"], r["as_of"][:16], (r["finished_at"] or "running")[:16], str(total), str(held)
        )
    console.print(runs)

"""`shareguard match ...`: import partner files, run matches, work the review queue."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.service import AgreementService
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
from shareguard.matching import datasets, tasks
from shareguard.matching.datasets import FileRejected
from shareguard.matching.imports import ImportService
from shareguard.matching.models import PartnerDataset
from shareguard.matching.review import ReviewService
from shareguard.matching.runs import RunOptions, RunService
from shareguard.matching.watchlist import WatchlistService, explain

app = typer.Typer(
    help="Bulk matching of the watch list with partner datasets.", no_args_is_help=True
)
watchlist = typer.Typer(help="The gated watch list.", no_args_is_help=True)
app.add_typer(watchlist, name="watchlist")
NAME = "match"

MAP_OPTION = typer.Option(
    None,
    "--map",
    help="canonical=column, repeatable (record_id, first_name, surname, "
    "date_of_birth, postcode, middle_names, date_format); default: the canonical names "
    "(middle_names where the file has that column)",
)


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _mapping(pairs: list[str] | None, file: Path) -> list[str] | dict[str, str]:
    if pairs:
        return pairs
    mapping = {c: c for c in ("record_id", "first_name", "surname", "date_of_birth", "postcode")}
    # Optional: a file without middle names imports as before (and a file that cannot be
    # read is refused by the import itself, naming the problem).
    with contextlib.suppress(InvalidInput, OSError):
        if "middle_names" in datasets.file_columns(file):
            mapping["middle_names"] = "middle_names"
    return mapping


def _import(
    session: Session,
    file: Path,
    agreement: str,
    mapping: list[str] | dict[str, str],
    mode: str,
    who: Principal,
) -> PartnerDataset:
    ag = AgreementService(session).resolve(agreement)
    with _bar() as bar:
        task = bar.add_task(f"importing {file.name}", total=1.0)
        ds = ImportService(session).import_dataset(
            file,
            mapping,
            ag.id,
            who,
            mode=mode,
            progress=lambda rows, done: bar.update(
                task, completed=done, description=f"importing {file.name}: {rows:,} rows"
            ),
        )
        bar.update(task, completed=1.0)
    return ds


@app.command("import")
@handle_errors
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or Parquet"),
    agreement: str = typer.Option(..., help="Agreement id or reference"),
    map_: list[str] = MAP_OPTION,
    mode: str = typer.Option("reject", help="reject (one bad row refuses the file) or quarantine"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Validate and import a partner dataset; bad rows are named by line, column and reason."""
    with cli_session() as session:
        try:
            ds = _import(session, file, agreement, _mapping(map_, file), mode, acting(session, as_))
        except FileRejected as exc:
            for e in exc.extra.get("errors", [])[:50]:
                console.print(f"line {e['line']}, {e['column']}: {e['reason']}", highlight=False)
            raise
        out = {"dataset_id": str(ds.id), "rows": ds.rows, "quarantined": ds.quarantined}
    if not emit(out, as_json):
        console.print(
            f"imported {out['rows']:,} rows as dataset {out['dataset_id']}"
            + (f"; {out['quarantined']:,} rows quarantined" if out["quarantined"] else "")
        )


@app.command("run")
@handle_errors
def run(
    agreement: str = typer.Option(..., help="Agreement id or reference"),
    watchlist_: str = typer.Option(
        "current", "--watchlist", help="current, or a file of person ids (one per line)"
    ),
    partner: str = typer.Option(..., help="A partner file (imported first) or a dataset id"),
    out: Path = typer.Option(
        None,
        help="A new or empty output directory inside the data directory "
        "(relative: under <data dir>/matching/runs; default: one named after the run)",
    ),
    map_: list[str] = MAP_OPTION,
    threshold: float = typer.Option(0.95, min=0.0, max=1.0, help="Match threshold"),
    review_threshold: float = typer.Option(0.5, min=0.0, max=1.0),
    backend: str = typer.Option("duckdb", help="duckdb or spark"),
    two_person_rule: bool = typer.Option(True, help="Adverse actions need two reviewers"),
    model_from: str = typer.Option(
        None,
        "--model-from",
        help="Score with the trained model of this earlier run (same agreement) "
        "instead of training afresh",
    ),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Match the gated watch list against a partner dataset under an agreement."""
    model_run = None
    if model_from is not None:
        try:
            model_run = uuid.UUID(model_from)
        except ValueError:
            raise InvalidInput("--model-from is a match run id", field="--model-from") from None
    person_ids = None
    if watchlist_ != "current":
        path = Path(watchlist_)
        if not path.is_file():
            raise InvalidInput(
                "--watchlist is 'current' or a file of person ids", field="--watchlist"
            )
        try:
            person_ids = frozenset(
                uuid.UUID(line.strip())
                for line in path.read_text().splitlines()
                if line.strip() and line.strip() != "person_id"
            )
        except ValueError:
            raise InvalidInput(
                "the watch-list file holds one person id per line", field="--watchlist"
            ) from None
    with cli_session() as session:
        who = acting(session, as_)
        ag = AgreementService(session).resolve(agreement)
        try:
            dataset_id = uuid.UUID(partner)
        except ValueError:
            path = Path(partner)
            if not path.is_file():
                raise InvalidInput(
                    "--partner is a file or a dataset id", field="--partner"
                ) from None
            dataset_id = _import(session, path, str(ag.id), _mapping(map_, path), "reject", who).id
        options = RunOptions(
            threshold=threshold,
            review_threshold=review_threshold,
            backend=backend,
            two_person_rule=two_person_rule,
            out_dir=out,
            person_ids=person_ids,
            watchlist_source="current" if person_ids is None else Path(watchlist_).name,
            model_from=model_run,
        )
        run_id = RunService(session).start_run(ag.id, dataset_id, who, options).id
    # The run is queued (committed); it then commits stage by stage (matching.tasks).
    with _bar() as bar:
        task = bar.add_task("match run", total=1.0)
        done = tasks.execute(
            run_id,
            progress=lambda stage, f: bar.update(task, completed=f, description=stage[:50]),
        )
    result = {
        "run_id": str(done.id),
        "state": done.state,
        "out": done.out_dir,
        "model_from": str(done.model_run_id) if done.model_run_id else None,
        **done.counts,
    }
    if not emit(result, as_json):
        for key, value in result.items():
            console.print(f"[bold]{key}[/bold]: {value}", highlight=False)


@app.command("status")
@handle_errors
def status(run_id: str = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    """A run's state, progress and counts."""
    with cli_session() as session:
        r = RunService(session).run(uuid.UUID(run_id))
        out = {
            "run_id": str(r.id),
            "state": r.state,
            "stage": r.stage,
            "progress": r.progress,
            "counts": r.counts,
            "error": r.error,
            "out": r.out_dir,
            "model_from": str(r.model_run_id) if r.model_run_id else None,
        }
    if not emit(out, as_json):
        console.print_json(json.dumps(out))


@app.command("review")
@handle_errors
def review(
    candidate: str = typer.Argument(None, help="A candidate id to decide (omit to list the queue)"),
    outcome: str = typer.Option(None, help="same, not_same or need_info"),
    note: str = typer.Option("", help="Why"),
    run_id: str = typer.Option(None, "--run", help="Only this run's candidates"),
    limit: int = typer.Option(50, min=1, max=500),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List the review queue, or record a decision on one candidate."""
    with cli_session() as session:
        svc = ReviewService(session)
        who = acting(session, as_)
        if candidate and outcome:
            c = svc.review(uuid.UUID(candidate), outcome, who, note)
            if not emit({"candidate_id": str(c.id), "review_state": c.review_state}, as_json):
                console.print(f"candidate {c.id}: {c.review_state}")
            return
        if candidate:
            view = svc.side_by_side(uuid.UUID(candidate), who)
            if not emit(view, as_json):
                console.print_json(json.dumps(view, default=str))
            return
        rows, total = svc.queue(who, uuid.UUID(run_id) if run_id else None, limit=limit)
        data = [
            {
                "candidate_id": str(c.id),
                "run_id": str(c.run_id),
                "probability": c.match_probability,
                "weight": c.match_weight,
                "band": c.band,
            }
            for c in rows
        ]
    if emit({"items": data, "total": total}, as_json):
        return
    table = Table("Candidate", "Probability", "Weight", "Band", title=f"{total} waiting for review")
    for d in data:
        table.add_row(
            str(d["candidate_id"]), f"{d['probability']:.4f}", f"{d['weight']:.2f}", str(d["band"])
        )
    console.print(table)


@watchlist.command("propose")
@handle_errors
def wl_propose(
    agreement: str = typer.Option(...),
    person: str = typer.Option(...),
    decision: str = typer.Option(...),
    evidence: str = typer.Option(...),
    as_: str = AS_OPTION,
) -> None:
    """Propose a person for an agreement's watch list (a second caseworker must verify)."""
    with cli_session() as session:
        ag = AgreementService(session).resolve(agreement)
        e = WatchlistService(session).propose(
            ag.id, uuid.UUID(person), uuid.UUID(decision), evidence, acting(session, as_)
        )
        console.print(f"entry {e.id}: {e.state}")


@watchlist.command("verify")
@handle_errors
def wl_verify(entry: str = typer.Argument(...), as_: str = AS_OPTION) -> None:
    """Verify an entry (four eyes); the gate decides whether it becomes active."""
    with cli_session() as session:
        e = WatchlistService(session).verify(uuid.UUID(entry), acting(session, as_))
        console.print(
            f"entry {e.id}: {e.state}"
            + (f" ({'; '.join(explain(e.reasons))})" if e.reasons else "")
        )


@watchlist.command("leave")
@handle_errors
def wl_leave(
    entry: str = typer.Argument(...), reason: str = typer.Option(...), as_: str = AS_OPTION
) -> None:
    """Remove an entry now."""
    with cli_session() as session:
        e = WatchlistService(session).leave(uuid.UUID(entry), reason, acting(session, as_))
        console.print(f"entry {e.id}: {e.state}")


@watchlist.command("kept-out")
@handle_errors
def wl_kept_out(agreement: str = typer.Option(...), as_json: bool = JSON_OPTION) -> None:
    """Who was kept out of the watch list, and why."""
    with cli_session() as session:
        ag = AgreementService(session).resolve(agreement)
        rows = WatchlistService(session).report(ag.id)
    if emit(rows, as_json):
        return
    table = Table("Entry", "Person ref", "State", "Why", title=f"{len(rows)} kept out")
    for r in rows:
        table.add_row(
            str(r["entry_id"]), str(r["person_ref"]), str(r["state"]), "; ".join(r["explained"])
        )
    console.print(table)

"""`shareguard corrections ...`: correct records, follow notices, run the delivery worker."""

from __future__ import annotations

import json
import uuid

import typer
from rich.table import Table

from shareguard.clikit import (
    AS_OPTION,
    JSON_OPTION,
    acting,
    cli_session,
    console,
    emit,
    handle_errors,
)
from shareguard.corrections.notices import NoticeService
from shareguard.corrections.present import correction_out, notice_out
from shareguard.corrections.service import CorrectionService
from shareguard.corrections.tasks import DELIVER, delivery_counts
from shareguard.errors import InvalidInput
from shareguard.storage.jobs import run_once

app = typer.Typer(
    help="Corrections and the rectification notices they send to every recipient.",
    no_args_is_help=True,
)
NAME = "corrections"


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(f"{field} is not a valid id", field=field) from None


@app.command("create")
@handle_errors
def create(
    target_id: str = typer.Argument(..., help="Id of the wrong status record or decision"),
    target_kind: str = typer.Option("status_record", "--kind", help="status_record or decision"),
    reason: str = typer.Option("", help="Why the record was wrong (required)"),
    evidence: str = typer.Option("", help="Evidence reference (required)"),
    set_: list[str] = typer.Option(
        [], "--set", help="field=value (JSON value), e.g. --set overturned=true; repeatable"
    ),
    action: str = typer.Option("", help="The action recipients must take"),
    deadline_days: int = typer.Option(14, min=1, max=90),
    lifts_adverse_action: bool = typer.Option(False, help="Needs a second caseworker's approval"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Correct a record: supersede it and notify every organisation that received it."""
    changes = {}
    for item in set_:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--set {item!r}: expected field=value", field="--set")
        try:
            changes[key] = json.loads(raw)
        except json.JSONDecodeError:
            changes[key] = raw
    with cli_session() as session:
        svc = CorrectionService(session)
        c = svc.correct(
            acting(session, as_),
            target_kind=target_kind,
            target_id=_uuid(target_id, "target_id"),
            reason=reason,
            evidence_ref=evidence,
            changes=changes,
            expected_action=action,
            deadline_days=deadline_days,
            lifts_adverse_action=lifts_adverse_action,
        )
        out = correction_out(session, c)
    if not emit(out, as_json):
        console.print(f"Correction {out.id}: {out.state}, {out.notices} notice(s) sent")


@app.command()
@handle_errors
def approve(correction_id: str, as_: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Approve a correction that lifts an adverse action (a second caseworker)."""
    with cli_session() as session:
        c = CorrectionService(session).approve(
            _uuid(correction_id, "correction_id"), acting(session, as_)
        )
        out = correction_out(session, c)
    if not emit(out, as_json):
        console.print(f"Correction {out.id}: {out.state}, {out.notices} notice(s) sent")


@app.command("list")
@handle_errors
def list_(
    state: str = typer.Option(None), as_: str = AS_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """List corrections, newest first."""
    with cli_session() as session:
        rows = [
            correction_out(session, c)
            for c in CorrectionService(session).corrections(
                acting(session, as_), state=state, limit=500
            )
        ]
    if emit([r.model_dump(mode="json") for r in rows], as_json):
        return
    table = Table("Id", "Target", "State", "Notices", "Created", title=f"{len(rows)} corrections")
    for r in rows:
        table.add_row(str(r.id), r.target_kind, r.state, str(r.notices), f"{r.created_at:%Y-%m-%d}")
    console.print(table)


@app.command()
@handle_errors
def notices(
    open_only: bool = typer.Option(False, "--open", help="Only unacknowledged notices"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List rectification notices."""
    with cli_session() as session:
        rows = [
            notice_out(n)
            for n in NoticeService(session).notices(
                acting(session, as_), open_only=open_only, limit=500
            )
        ]
    if emit([r.model_dump(mode="json") for r in rows], as_json):
        return
    table = Table(
        "Reference",
        "Organisation",
        "Deadline",
        "Acknowledged",
        "Escalated",
        title=f"{len(rows)} notices",
    )
    for n in rows:
        table.add_row(
            n.reference,
            n.organisation or str(n.organisation_id),
            f"{n.deadline:%Y-%m-%d}" + (" [red](overdue)[/red]" if n.overdue else ""),
            f"{n.acknowledged_at:%Y-%m-%d}" if n.acknowledged_at else "",
            f"{n.escalated_at:%Y-%m-%d}" if n.escalated_at else "",
        )
    console.print(table)


@app.command()
@handle_errors
def escalate(as_json: bool = JSON_OPTION) -> None:
    """Escalate every overdue, unacknowledged notice to the governance officer (scheduled)."""
    with cli_session() as session:
        rows = [notice_out(n) for n in NoticeService(session).escalate_overdue()]
    if not emit([r.model_dump(mode="json") for r in rows], as_json):
        console.print(f"{len(rows)} notice(s) escalated")


@app.command()
@handle_errors
def deliver(as_json: bool = JSON_OPTION) -> None:
    """Push due webhook deliveries, retrying failures with backoff (run on a schedule)."""
    counts = delivery_counts(run_once(DELIVER))  # one unit of work per delivery
    if not emit(counts, as_json):
        console.print(", ".join(f"{k}: {v}" for k, v in counts.items()))

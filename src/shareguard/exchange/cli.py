"""`shareguard requests ...` and `shareguard inbound ...`: the door's other way."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from shareguard.clikit import (
    AS_OPTION,
    JSON_OPTION,
    acting,
    cli_session,
    console,
    emit,
    handle_errors,
)
from shareguard.errors import InvalidInput, NotFound
from shareguard.exchange.present import batch_out, record_out, request_out
from shareguard.exchange.service import RequestService, resolve_agreement

if TYPE_CHECKING:
    from shareguard.exchange.inbound import InboundService

app = typer.Typer(
    help="Requests to partners for information about a person, and their answers.",
    no_args_is_help=True,
)
NAME = "requests"


def _inbound(session: Session) -> InboundService:
    """The inbound service, imported only when an ``inbound`` command runs: ``shareguard
    requests`` shares this module and must not load pandas and pyarrow (the partner-file
    reader that InboundService uses) to start."""
    from shareguard.exchange.inbound import InboundService

    return InboundService(session)


inbound_app = typer.Typer(
    help="Data partners send to the Home Office: one record or a CSV/Parquet file.",
    no_args_is_help=True,
)


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(f"{field} is not a valid id", field=field) from None


def _pairs(values: list[str], option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{option} {item[:40]!r}: expected field=value", field=option)
        out[key.strip()] = raw
    return out


def _json_file(path: Path | None, option: str) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise InvalidInput("not a readable JSON file", field=option) from None
    if not isinstance(data, dict):
        raise InvalidInput("the file holds a JSON object of field → value", field=option)
    return data


# requests ---------------------------------------------------------------------------------
@app.command("create")
@handle_errors
def create(
    agreement: str = typer.Option(..., help="Agreement reference or id (the partner discloses)"),
    person: str = typer.Option(..., help="Person id"),
    reason: str = typer.Option("", help="Why the information is needed (required)"),
    item: list[str] = typer.Option([], "--item", help="Data item asked for; repeatable"),
    purpose: str = typer.Option(None, help="Purpose code (default: the agreement's first)"),
    proportionality: str = typer.Option("", help="Why asking is proportionate (optional)"),
    partner: str = typer.Option(None, help="Partner name or id, when several disclose"),
    deadline_days: int = typer.Option(10, min=1, max=90),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Ask a partner for information; the door decides before the partner sees anything."""
    with cli_session() as session:
        principal = acting(session, as_)
        row = RequestService(session).create(
            principal,
            agreement=agreement,
            person_id=_uuid(person, "--person"),
            reason=reason,
            data_items=item,
            purpose=purpose,
            proportionality=proportionality,
            partner=partner,
            deadline_days=deadline_days,
        )
        out = request_out(session, row, principal)
    if not emit(out, as_json):
        console.print(
            f"Request {out.reference} sent to {out.partner}: answer due by {out.deadline:%Y-%m-%d}"
            if out.deadline
            else f"Request {out.reference}: {out.state}",
            highlight=False,
        )


@app.command("list")
@handle_errors
def list_(
    state: str = typer.Option(None, help="open, answered, not_held, declined, refused, ..."),
    agreement: str = typer.Option(None, help="Agreement reference or id"),
    limit: int = typer.Option(50, min=1, max=500),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Requests, newest first (a partner user sees its own queue)."""
    with cli_session() as session:
        principal = acting(session, as_)
        agreement_id = (
            resolve_agreement(session, agreement, "--agreement").id if agreement else None
        )
        rows = RequestService(session).find(
            principal, state=state, agreement_id=agreement_id, limit=limit
        )
        out = [request_out(session, r, principal) for r in rows]
    if emit({"items": [o.model_dump(mode="json") for o in out], "total": len(out)}, as_json):
        return
    table = Table(
        "Reference", "Agreement", "Partner", "Items", "State", "Due", title=f"{len(out)} requests"
    )
    for o in out:
        table.add_row(
            o.reference,
            o.agreement,
            o.partner,
            ", ".join(o.data_items),
            o.state + (f" ({o.decision_kind})" if o.state.endswith("refused") else ""),
            f"{o.deadline:%Y-%m-%d}" if o.deadline else "",
        )
    console.print(table)


@app.command()
@handle_errors
def show(
    request: str = typer.Argument(..., help="Request id or reference (RQ-...)"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """One request with its decision and, for staff, the minimised answer."""
    with cli_session() as session:
        principal = acting(session, as_)
        out = request_out(
            session, RequestService(session).by_reference(request, principal), principal
        )
    if emit(out, as_json):
        return
    for field, value in out.model_dump().items():
        if value not in (None, "", [], {}):
            console.print(f"[bold]{field}[/bold]: {value}", highlight=False)


@app.command()
@handle_errors
def answer(
    request: str = typer.Argument(..., help="Request id or reference"),
    outcome: str = typer.Option("data", help="data, not_held or refused"),
    set_: list[str] = typer.Option([], "--set", help="item=value in the answer; repeatable"),
    data_file: Path = typer.Option(None, "--data-file", help="JSON object of item → value"),
    note: str = typer.Option("", help="The reason, when refusing"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Answer a request as the partner asked (data passes the door and is minimised)."""
    data = {**_json_file(data_file, "--data-file"), **_pairs(set_, "--set")}
    with cli_session() as session:
        principal = acting(session, as_)
        svc = RequestService(session)
        row = svc.by_reference(request, principal)
        row = svc.answer(row.id, principal, outcome=outcome, data=data or None, note=note)
        out = request_out(session, row, principal)
    if not emit(out, as_json):
        dropped = f"; dropped: {', '.join(out.dropped)}" if out.dropped else ""
        console.print(f"Request {out.reference}: {out.state}{dropped}", highlight=False)


@app.command()
@handle_errors
def escalate(as_json: bool = JSON_OPTION) -> None:
    """Remind partners of requests nearly due, escalate overdue ones, push due webhooks."""
    with cli_session() as session:
        svc = RequestService(session)
        reminded = svc.remind_due()
        escalated = svc.escalate_overdue()
        deliveries = svc.deliver_webhooks()
        result = {
            "reminded": [r.reference for r in reminded],
            "escalated": [r.reference for r in escalated],
            "deliveries": deliveries,
        }
    if not emit(result, as_json):
        console.print(
            f"{len(reminded)} reminded, {len(escalated)} escalated; webhooks: {deliveries}",
            highlight=False,
        )


# inbound ----------------------------------------------------------------------------------
@inbound_app.command("submit")
@handle_errors
def submit(
    agreement: str = typer.Option(..., help="Agreement reference or id (you disclose under it)"),
    file: Path = typer.Option(None, help="A CSV or Parquet file of records"),
    mode: str = typer.Option("reject", help="reject (one bad row refuses the file) or quarantine"),
    map_: list[str] = typer.Option(
        [], "--map", help="item=column when the file's column names differ; repeatable"
    ),
    set_: list[str] = typer.Option([], "--set", help="item=value for one record; repeatable"),
    record_file: Path = typer.Option(None, "--record-file", help="One record as a JSON object"),
    record_id: str = typer.Option("", help="Your reference for the one record"),
    category: list[str] = typer.Option([], "--category", help="pupil, patient, victim, witness"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Send records to the Home Office; each one passes the door."""
    one = {**_json_file(record_file, "--record-file"), **_pairs(set_, "--set")}
    if file is None and not one:
        raise InvalidInput("give --file, or the record with --set / --record-file", field="--file")
    if file is not None and one:
        raise InvalidInput("give either --file or one record, not both", field="--file")
    with cli_session() as session:
        principal = acting(session, as_)
        svc = _inbound(session)
        if file is not None:
            if not file.exists():
                raise InvalidInput("no such file", field="--file")
            done = svc.submit_file(
                principal,
                file,
                agreement=agreement,
                mode=mode,
                mapping={k: str(v) for k, v in _pairs(map_, "--map").items()},
            )
            out: Any = batch_out(session, done.batch)
        else:
            row = svc.submit_record(
                principal,
                agreement=agreement,
                data=one,
                record_id=record_id,
                categories=category,
            )
            out = record_out(session, row, principal)
    if emit(out, as_json):
        return
    if file is not None:
        console.print(
            f"Submission {out.reference}: {out.rows} rows, {out.accepted} accepted, "
            f"{out.refused} refused, {out.quarantined} quarantined",
            highlight=False,
        )
        for e in out.errors[:20]:
            console.print(f"  line {e['line']}, {e['column']}: {e['reason']}", highlight=False)
    else:
        dropped = f"; dropped: {', '.join(out.dropped)}" if out.dropped else ""
        console.print(f"Record {out.id} accepted (unverified){dropped}", highlight=False)


@inbound_app.command("list")
@handle_errors
def inbound_list(
    state: str = typer.Option(None, help="unverified, proposed, verified or dismissed"),
    agreement: str = typer.Option(None, help="Agreement reference or id"),
    batch: str = typer.Option(None, help="Submission id or reference (IN-...)"),
    limit: int = typer.Option(50, min=1, max=500),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Inbound records, newest first: staff see the queue; a partner what it sent."""
    with cli_session() as session:
        principal = acting(session, as_)
        svc = _inbound(session)
        agreement_id = (
            resolve_agreement(session, agreement, "--agreement").id if agreement else None
        )
        batch_id = svc.batch_by_reference(batch, principal).id if batch else None
        rows = svc.records(
            principal, state=state, agreement_id=agreement_id, batch_id=batch_id, limit=limit
        )
        out = [record_out(session, r, principal) for r in rows]
    if emit({"items": [o.model_dump(mode="json") for o in out], "total": len(out)}, as_json):
        return
    table = Table(
        "Id", "Agreement", "From", "Line", "State", "Findings", title=f"{len(out)} records"
    )
    for o in out:
        table.add_row(
            str(o.id),
            o.agreement,
            o.discloser,
            str(o.line or ""),
            o.state,
            str(len(o.findings)),
        )
    console.print(table)


@inbound_app.command("show")
@handle_errors
def inbound_show(
    ref: str = typer.Argument(..., help="Record id, or submission id or reference (IN-...)"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """One inbound record, or one submission with its errors by line."""
    with cli_session() as session:
        principal = acting(session, as_)
        svc = _inbound(session)
        out: Any
        try:
            out = record_out(session, svc.get(_uuid(ref, "REF"), principal), principal)
        except (InvalidInput, NotFound):
            out = batch_out(session, svc.batch_by_reference(ref, principal))
    if emit(out, as_json):
        return
    for field, value in out.model_dump().items():
        if value not in (None, "", [], {}):
            console.print(f"[bold]{field}[/bold]: {value}", highlight=False)

"""`shareguard policy ...` (try a decision, show the compiled Cedar policies), and the top-level
`shareguard firewall ...` and `shareguard pauses ...` groups."""

from __future__ import annotations

import uuid
from pathlib import Path

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
from shareguard.errors import InvalidInput
from shareguard.policy.present import pause_out
from shareguard.policy.schemas import (
    DecisionRequestIn,
    FirewallChangeOut,
    FirewallProposalIn,
    FirewallRuleOut,
    PauseIn,
)
from shareguard.policy.service import FirewallService, PauseService, PolicyService
from shareguard.yamlfile import load_model

app = typer.Typer(help="The one door: Cedar policies and trying decisions.", no_args_is_help=True)
NAME = "policy"


@app.command("test")
@handle_errors
def test(
    request: Path = typer.Option(
        ..., "--request", "-r", help="Request as YAML or JSON (see docs/policy.md)"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Evaluate a request without disclosing anything; prints the decision and its reason."""
    data = load_model(request, DecisionRequestIn)
    with cli_session() as session:
        decision = PolicyService(session).try_request(data)
    out = {
        "allowed": decision.allowed,
        "kind": decision.kind,
        "reason": decision.reason,
        "policies": list(decision.policies),
        "agreement_id": str(decision.agreement_id) if decision.agreement_id else None,
    }
    if emit(out, as_json):
        return
    colour = "green" if decision.allowed else "red"
    console.print(
        f"[{colour}]{'ALLOWED' if decision.allowed else 'REFUSED'}[/{colour}] ({decision.kind})",
        highlight=False,
    )
    console.print(decision.reason, highlight=False)
    for p in decision.policies:
        console.print(f"  policy: {p}", highlight=False)


@app.command()
@handle_errors
def show(
    agreement: str = typer.Option(
        None, "--agreement", "-a", help="Reference or id: only this agreement's slice"
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Write the Cedar text to a file"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print (or export) the compiled Cedar policies: the register, or one agreement's slice."""
    with cli_session() as session:
        text, warnings = PolicyService(session).cedar_text(agreement)
    if emit({"agreement": agreement, "cedar": text, "warnings": warnings}, as_json):
        return
    header = "".join(f"// warning: {w}\n" for w in warnings)
    if output is not None:
        output.write_text(header + text, encoding="utf-8")
        console.print(f"Wrote {output}", highlight=False)
        return
    typer.echo(header + text, nl=False)


firewall = typer.Typer(
    help="Firewall rules no agreement overrides; changes need two governance officers.",
    no_args_is_help=True,
)
pauses = typer.Typer(
    help="Pauses: temporary forbid rules with a reason and an owner.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(firewall, name="firewall")
    app.add_typer(pauses, name="pauses")


@firewall.command("list")
@handle_errors
def firewall_list(
    include_retired: bool = typer.Option(False, "--all", help="Include retired rules"),
    as_json: bool = JSON_OPTION,
) -> None:
    """List firewall rules."""
    with cli_session() as session:
        rules = [
            FirewallRuleOut.model_validate(r)
            for r in FirewallService(session).rules(include_retired=include_retired)
        ]
    if emit([r.model_dump() for r in rules], as_json):
        return
    table = Table("Key", "Title", "Categories", "Data items", "Purposes", "Active")
    for r in rules:
        table.add_row(
            r.key,
            r.title,
            ", ".join(r.categories),
            ", ".join(r.data_items),
            ", ".join(r.purposes) or "(all enforcement)",
            "yes" if r.active else "no",
        )
    console.print(table)


@firewall.command("changes")
@handle_errors
def firewall_changes(
    status: str = typer.Option(None, help="pending, approved or rejected"),
    as_json: bool = JSON_OPTION,
) -> None:
    """List proposed firewall changes."""
    with cli_session() as session:
        rows = [
            FirewallChangeOut.model_validate(c) for c in FirewallService(session).changes(status)
        ]
    if emit([r.model_dump(mode="json") for r in rows], as_json):
        return
    table = Table("Id", "Operation", "Rule", "Status", "Reason")
    for c in rows:
        table.add_row(str(c.id), c.operation, c.rule_key, c.status, c.reason)
    console.print(table)


@firewall.command("propose")
@handle_errors
def firewall_propose(
    file: Path = typer.Option(..., "--file", "-f", help="Proposal YAML (docs/policy.md)"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Propose a firewall change; a second governance officer must approve it."""
    data = load_model(file, FirewallProposalIn)
    with cli_session() as session:
        change = FirewallChangeOut.model_validate(
            FirewallService(session).propose(data, acting(session, as_))
        )
    if not emit(change, as_json):
        console.print(
            f"Proposed {change.operation} of '{change.rule_key}': change {change.id} "
            "awaits a second officer's approval",
            highlight=False,
        )


def _decide(action: str) -> None:
    @firewall.command(action, help=f"{action.capitalize()} a proposed change (a second officer).")
    @handle_errors
    def command(
        change_id: str = typer.Argument(..., help="Change id"),
        note: str = typer.Option("", help="Kept with the change"),
        as_: str = AS_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        with cli_session() as session:
            service = FirewallService(session)
            method = service.approve if action == "approve" else service.reject
            change = FirewallChangeOut.model_validate(
                method(_uuid(change_id), acting(session, as_), note)
            )
        if not emit(change, as_json):
            console.print(f"Change {change.id} is {change.status}", highlight=False)


_decide("approve")
_decide("reject")


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("not an id", field="id") from None


@pauses.command("list")
@handle_errors
def pauses_list(
    current: bool = typer.Option(False, help="Only pauses in force now"),
    as_json: bool = JSON_OPTION,
) -> None:
    """List pauses."""
    with cli_session() as session:
        rows = [pause_out(p) for p in PauseService(session).list(current_only=current)]
    if emit([r.model_dump(mode="json") for r in rows], as_json):
        return
    table = Table("Id", "Title", "In force", "Starts", "Ends", "Scope")
    for p in rows:
        scope = []
        if p.agreement_ids:
            scope.append(f"{len(p.agreement_ids)} agreement(s)")
        if p.purposes:
            scope.append(", ".join(p.purposes))
        if p.actions:
            scope.append(", ".join(p.actions))
        if p.age_over is not None:
            scope.append(f"aged over {p.age_over}")
        if p.age_under is not None:
            scope.append(f"aged under {p.age_under}")
        table.add_row(
            str(p.id),
            p.title,
            "yes" if p.in_force else "no",
            f"{p.starts_at:%Y-%m-%d %H:%M}",
            f"{p.ends_at:%Y-%m-%d %H:%M}" if p.ends_at else "",
            "; ".join(scope),
        )
    console.print(table)


@pauses.command("create")
@handle_errors
def pauses_create(
    file: Path = typer.Option(..., "--file", "-f", help="Pause YAML (docs/policy.md)"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a pause. Nothing is written if the file is invalid."""
    data = load_model(file, PauseIn)
    with cli_session() as session:
        out = pause_out(PauseService(session).create(data, acting(session, as_)))
    if not emit(out, as_json):
        console.print(f"Pause {out.id} recorded: {out.title}", highlight=False)


@pauses.command("lift")
@handle_errors
def pauses_lift(
    pause_id: str = typer.Argument(..., help="Pause id"),
    reason: str = typer.Option(..., help="Why the pause ends now"),
    as_: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """End a pause now."""
    with cli_session() as session:
        out = pause_out(PauseService(session).lift(_uuid(pause_id), acting(session, as_), reason))
    if not emit(out, as_json):
        console.print(f"Pause {out.id} lifted", highlight=False)

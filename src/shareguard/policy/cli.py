"""`shareguard policy ...`: try a decision, show the compiled Cedar policies."""

from __future__ import annotations

from pathlib import Path

import typer

from shareguard.clikit import JSON_OPTION, cli_session, console, emit, handle_errors
from shareguard.policy.schemas import DecisionRequestIn
from shareguard.policy.service import PolicyService
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

"""`shareguard` command line: one Typer app, one sub-app per capability, each loaded when used.

`shareguard --help` lists every command from the table below without importing any of them,
so asking for help (or running `db upgrade`) never pays for pandas, the web routes or the
matching engine. A command's module is imported only when that command runs. Each capability
keeps all its commands in its `cli` room (its own `app`, and any further top-level group such
as `policy.cli:firewall`); a `cli` room missing from the table still works (it is imported at
start-up, the slow way), and a test names it so it can be added.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # Typer ships its own copy of click; its groups hold its commands
    from typer import _click as click

from shareguard import __version__
from shareguard.capabilities import CAPABILITIES

#: Every lazily loaded command: name -> (``module:attribute``, one line of help for the list).
#: The attribute is a Typer sub-app, or a ``register(app)`` function that adds the command.
COMMANDS: dict[str, tuple[str, str]] = {
    "accounts": ("shareguard.accounts.cli:app", "Organisations, console users and API keys."),
    "agreements": ("shareguard.agreements.cli:app", "The register of data-sharing agreements."),
    "audit": (
        "shareguard.audit.cli:app",
        "The tamper-evident audit log: verify, checkpoints, proofs.",
    ),
    "backup": (
        "shareguard.operations.cli:app",
        "Backups: make one while serving; restore one into an empty database and verify it.",
    ),
    "check": ("shareguard.checks.cli:app", "Real-time status checks, referrals and contests."),
    "corrections": (
        "shareguard.corrections.cli:app",
        "Corrections and the rectification notices they send to every recipient.",
    ),
    "credential": (
        "shareguard.credentials.cli:app",
        "Offline-verifiable status credentials: issue, revoke, verify.",
    ),
    "demo": (
        "shareguard.demo.cli:register",
        "Create the SQLite database, seed the demo world (idempotent) and serve it.",
    ),
    "firewall": (
        "shareguard.policy.cli:firewall",
        "Firewall rules no agreement overrides; changes need two governance officers.",
    ),
    "inbound": (
        "shareguard.exchange.cli:inbound_app",
        "Data partners send to the Home Office: one record or a CSV/Parquet file.",
    ),
    "locks": (
        "shareguard.credentials.cli:locks",
        "A person's locks on their own record (set on their behalf).",
    ),
    "match": (
        "shareguard.matching.cli:app",
        "Bulk matching of the watch list with partner datasets.",
    ),
    "pauses": (
        "shareguard.policy.cli:pauses",
        "Pauses: temporary forbid rules with a reason and an owner.",
    ),
    "persons": (
        "shareguard.status.cli:app",
        "The status register: persons, decisions, status, share codes.",
    ),
    "policy": ("shareguard.policy.cli:app", "The one door: Cedar policies and trying decisions."),
    "quality": (
        "shareguard.quality.cli:app",
        "The data-quality function: rules, findings, owners.",
    ),
    "report": (
        "shareguard.reports.cli:register",
        "Per-agreement and overall reports: disclosures, checks, matches, errors, corrections.",
    ),
    "requests": (
        "shareguard.exchange.cli:app",
        "Requests to partners for information about a person, and their answers.",
    ),
    "signin": (
        "shareguard.signin.cli:app",
        "Sign-in: shareguard's OpenID client keys; partners' machine clients (RFC 7523).",
    ),
    "retention": (
        "shareguard.retention.cli:app",
        "Retention: delete what is past its period, legal holds, reports.",
    ),
}

_PACKAGE = Path(__file__).resolve().parent


def load(name: str) -> click.Command:
    """Import the module behind ``name`` and build its click command."""
    module_name, attribute = COMMANDS[name][0].split(":")
    found = getattr(importlib.import_module(module_name), attribute)
    holder = typer.Typer()
    holder.callback()(lambda: None)  # a group even when it holds a single command
    if isinstance(found, typer.Typer):
        holder.add_typer(found, name=name)
    else:
        found(holder)
    return typer.main.get_group(holder).commands[name]


class _Listed(TyperCommand):
    """What `--help` shows for a command not yet loaded: its name and its line of help."""


class LazyGroup(TyperGroup):
    """Lists every command of ``COMMANDS`` and imports one only when it is invoked."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (_, help_text) in COMMANDS.items():
            self.commands.setdefault(name, _Listed(name, help=help_text, short_help=help_text))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, _Listed):
            command = self.commands[name] = load(name)
        return name, command, rest


app = typer.Typer(
    cls=LazyGroup,
    # Plain help for the list of commands: Rich's help formatter costs 0.3 s to import, and a
    # plain list reads as well in a terminal and better in a screen reader.
    rich_markup_mode=None,
    help="shareguard: governed data sharing and immigration status checks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shareguard {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version"
    ),
) -> None:
    """Every share listed, lawful, minimal, measured, correctable and provable."""


db = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db, name="db")


@db.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create or migrate the database schema (Alembic)."""
    # Imported when the command runs, so that `shareguard --help` stays fast (as COMMANDS).
    from shareguard.config import get_settings
    from shareguard.storage.db import get_engine
    from shareguard.storage.migrate import upgrade

    upgrade(get_engine(), revision)
    typer.echo(f"database at {get_settings().url.split('@')[-1]} is at {revision}")


@app.command()
def serve(
    host: str = typer.Option(None, help="Default: $SHAREGUARD_HOST or 127.0.0.1"),
    port: int = typer.Option(None, help="Default: $SHAREGUARD_PORT or 8000"),
    workers: int = typer.Option(1, min=1),
) -> None:
    """Serve the console and API."""
    # Imported when the command runs, so that `shareguard --help` stays fast (as COMMANDS).
    import uvicorn

    from shareguard.clikit import check_serving
    from shareguard.config import get_settings

    settings = get_settings()
    host = host or settings.host
    check_serving(settings, host)
    uvicorn.run(
        "shareguard.web.app:create_app",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
        access_log=False,  # the middleware logs route templates, not raw paths
    )


def unlisted_rooms() -> list[str]:
    """Modules of capabilities' ``cli`` rooms that ``COMMANDS`` does not name."""
    listed = {target.split(":")[0] for target, _ in COMMANDS.values()}
    return [
        f"shareguard.{cap}.cli"
        for cap in CAPABILITIES
        if (_PACKAGE / cap / "cli.py").exists() and f"shareguard.{cap}.cli" not in listed
    ]


for _module_name in unlisted_rooms():  # the slow way, until the room is added to COMMANDS
    _module = importlib.import_module(_module_name)
    if hasattr(_module, "register"):
        _module.register(app)
    else:
        app.add_typer(_module.app, name=_module.NAME)

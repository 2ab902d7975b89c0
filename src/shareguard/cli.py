"""`shareguard` command line: one Typer app, one sub-app per capability."""

from __future__ import annotations

import typer

from shareguard import __version__
from shareguard.capabilities import rooms
from shareguard.clikit import check_serving

app = typer.Typer(
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
    import uvicorn

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
    )


for _module in rooms("cli"):
    app.add_typer(_module.app, name=_module.NAME)
for _module in rooms("commands"):  # top-level commands (e.g. `report`) register themselves
    _module.register(app)


from shareguard.demo.cli import register as _register_demo  # noqa: E402

_register_demo(app)

"""`shareguard demo`: create, seed and serve the synthetic demo world."""

from __future__ import annotations

import typer
import uvicorn
from rich.table import Table

from shareguard.audit.service import AuditService
from shareguard.clikit import check_serving, console
from shareguard.config import get_settings
from shareguard.demo.seeds.cli import build_seeds
from shareguard.demo.world import DEMO_PASSWORD, email
from shareguard.demo.world import seed as seed_world
from shareguard.storage.db import get_engine, unit_of_work
from shareguard.storage.migrate import pending_changes, upgrade


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        persons: int = typer.Option(
            10_000, min=0, max=1_000_000, help="Synthetic persons to create"
        ),
        seed: int = typer.Option(20261123, help="Random seed (same seed, same world)"),
        reset: bool = typer.Option(False, "--reset", help="Delete the demo database first"),
        serve: bool = typer.Option(
            True, "--serve/--no-serve", help="Serve the console and API afterwards"
        ),
        scale: str = typer.Option(
            "default",
            help="default: a small world in seconds; seeds: a year of sharing at the public "
            "record's scale (about half an hour of CPU; resumable: run it again to go on)",
        ),
        fraction: float = typer.Option(
            1.0,
            min=0.001,
            max=1.0,
            help="With --scale seeds: build the same year at this fraction of its volumes",
        ),
    ) -> None:
        """Create the SQLite database, seed the demo world (idempotent) and serve it."""

        settings = get_settings()
        if settings.mode == "production":
            console.print("[red]refusing to seed a demo world in production mode[/red]")
            raise typer.Exit(2)
        db_file = settings.data_dir / "shareguard.db"
        if reset and not settings.database_url:
            for suffix in ("", "-wal", "-shm"):
                db_file.with_name(db_file.name + suffix).unlink(missing_ok=True)
        upgrade(get_engine())
        if pending_changes(get_engine()):
            # Before 1.0 the single migration is rewritten, so an old demo database can lag.
            console.print(
                "[red]The demo database was made by an older version of shareguard.[/red] "
                "Run `shareguard demo --reset` to start it afresh."
            )
            raise typer.Exit(2)
        if scale not in ("default", "seeds"):
            console.print("[red]--scale must be default or seeds[/red]")
            raise typer.Exit(2)
        if scale == "seeds":
            world = build_seeds(settings, seed=seed, fraction=fraction)
        else:
            world = seed_world(seed=seed, persons=persons)  # each stage its own unit of work

        with unit_of_work() as session:
            # A signed checkpoint over the seeded log, so `audit verify` has one to check.
            AuditService(session, settings).checkpoint()
        table = Table("Role", "Sign in as", title=f"Demo users (password: {DEMO_PASSWORD})")
        for local, role in [
            ("officer", "governance officer"),
            ("officer2", "second governance officer"),
            ("caseworker", "caseworker"),
            ("caseworker2", "second caseworker"),
            ("reviewer", "reviewer"),
            ("auditor", "auditor"),
        ]:
            table.add_row(role, email(local))
        table.add_row(
            "partner user", email("partner", "dvla") + " (and partner@<code>.demo.example)"
        )
        console.print(table)
        keys = Table("Partner", "API key (demo only)", title="Partner API keys")
        for code, token in world.keys.items():
            keys.add_row(code, token)
        console.print(keys)
        url = f"http://{settings.host}:{settings.port}"
        console.print(f"Console: {url}/   API docs: {url}/docs   Database: {settings.url}")
        if serve:
            check_serving(settings, settings.host)

            uvicorn.run(
                "shareguard.web.app:create_app",
                factory=True,
                host=settings.host,
                port=settings.port,
                log_level="info",
                access_log=False,  # the middleware logs route templates, not raw paths
            )

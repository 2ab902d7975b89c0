"""`shareguard inbound ...` sits beside `shareguard requests ...` (the cli room adds one group)."""

from __future__ import annotations

import typer

from shareguard.exchange.cli import inbound_app


def register(app: typer.Typer) -> None:
    app.add_typer(inbound_app, name="inbound")

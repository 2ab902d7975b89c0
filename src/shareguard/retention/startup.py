"""While serving: the scheduled retention run (``Settings.retention_interval``; 0 turns it off)."""

from __future__ import annotations

from fastapi import FastAPI

from shareguard.retention.tasks import job
from shareguard.storage.jobs import schedule


def install(app: FastAPI) -> None:
    settings = app.state.settings
    if settings.retention_interval > 0:
        schedule(app, job(settings))

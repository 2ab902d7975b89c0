"""While serving: push due webhook deliveries every minute, escalate overdue notices hourly.

The same work runs from cron with ``shareguard corrections deliver`` and ``... escalate``;
nothing is scheduled in test mode (tests call the service directly).
"""

from __future__ import annotations

from fastapi import FastAPI

from shareguard.corrections.tasks import DELIVER, ESCALATE
from shareguard.storage.jobs import schedule


def install(app: FastAPI) -> None:
    if app.state.settings.mode == "test":
        return
    schedule(app, DELIVER, ESCALATE)

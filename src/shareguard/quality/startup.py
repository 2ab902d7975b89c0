"""While serving: run every data-quality rule once a day (``shareguard quality run --scheduled``
does the same from cron). Nothing is scheduled in test mode."""

from __future__ import annotations

from fastapi import FastAPI

from shareguard.accounts.principal import Principal
from shareguard.quality.service import QualityService
from shareguard.storage.jobs import Job, schedule

EVERY = 24 * 3600
SCHEDULER = Principal(organisation_id=None, roles=frozenset({"system"}))


def install(app: FastAPI) -> None:
    if app.state.settings.mode == "test":
        return
    schedule(
        app,
        Job(
            "data-quality",
            EVERY,
            lambda session: QualityService(session).run(SCHEDULER, trigger="schedule").new_findings,
            report=lambda n: f"scheduled data-quality run: {n} new finding(s)",
        ),
    )

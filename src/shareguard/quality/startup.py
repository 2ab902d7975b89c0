"""While serving: run every data-quality rule once a day (``shareguard quality run --scheduled``
does the same from cron). Nothing is scheduled in test mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from shareguard.accounts.principal import Principal
from shareguard.quality.service import QualityService

log = logging.getLogger(__name__)
EVERY = 24 * 3600
SCHEDULER = Principal(organisation_id=None, roles=frozenset({"system"}))


def run_once(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return QualityService(session).run(SCHEDULER, trigger="schedule").new_findings


async def _every(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(EVERY)
        try:
            n = await asyncio.to_thread(run_once, app)
            log.info("scheduled data-quality run: %d new finding(s)", n)
        except Exception:  # keep the schedule alive; tomorrow's run retries
            log.exception("scheduled data-quality run failed")


def install(app: FastAPI) -> None:
    if app.state.settings.mode == "test":
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        task = asyncio.create_task(_every(app), name="data-quality")
        try:
            async with inner(a) as state:
                yield state
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.router.lifespan_context = lifespan

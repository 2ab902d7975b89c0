"""While serving: push due webhook deliveries every minute, escalate overdue notices hourly.

The same work runs from cron with ``shareguard corrections deliver`` and ``... escalate``;
nothing is scheduled in test mode (tests call the service directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from shareguard.corrections.service import CorrectionService

log = logging.getLogger(__name__)
DELIVER_EVERY = 60
ESCALATE_EVERY = 3600


def deliver_once(app: FastAPI) -> dict[str, int]:
    with app.state.session_factory() as session:
        return CorrectionService(session).deliver_webhooks()


def escalate_once(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return len(CorrectionService(session).escalate_overdue())


async def _every(app: FastAPI) -> None:
    ticks = 0
    while True:
        await asyncio.sleep(DELIVER_EVERY)
        ticks += 1
        try:
            counts = await asyncio.to_thread(deliver_once, app)
            if any(counts.values()):
                log.info("webhook deliveries: %s", counts)
            if ticks * DELIVER_EVERY % ESCALATE_EVERY == 0:
                n = await asyncio.to_thread(escalate_once, app)
                if n:
                    log.info("%d overdue rectification notice(s) escalated", n)
        except Exception:  # keep the schedule alive; the next tick retries
            log.exception("scheduled notice work failed")


def install(app: FastAPI) -> None:
    if app.state.settings.mode == "test":
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        task = asyncio.create_task(_every(app), name="rectification-notices")
        try:
            async with inner(a) as state:
                yield state
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.router.lifespan_context = lifespan

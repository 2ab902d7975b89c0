"""While serving: every minute push due request webhooks; hourly remind partners of requests
nearly due and escalate overdue ones. ``shareguard requests escalate`` does the same from cron;
nothing is scheduled in test mode (tests call the service directly)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from shareguard.exchange.service import RequestService
from shareguard.storage.db import unit_of_work

log = logging.getLogger(__name__)
DELIVER_EVERY = 60
ESCALATE_EVERY = 3600


def deliver_once(app: FastAPI) -> dict[str, int]:
    with unit_of_work(app.state.engine) as session:
        return RequestService(session).deliver_webhooks()


def escalate_once(app: FastAPI) -> tuple[int, int]:
    with unit_of_work(app.state.engine) as session:
        svc = RequestService(session)
        return len(svc.remind_due()), len(svc.escalate_overdue())


async def _every(app: FastAPI) -> None:
    ticks = 0
    while True:
        await asyncio.sleep(DELIVER_EVERY)
        ticks += 1
        try:
            if ticks * DELIVER_EVERY % ESCALATE_EVERY == 0:
                reminded, escalated = await asyncio.to_thread(escalate_once, app)
                if reminded or escalated:
                    log.info("requests: %d reminded, %d escalated", reminded, escalated)
            counts = await asyncio.to_thread(deliver_once, app)
            if any(counts.values()):
                log.info("request webhook deliveries: %s", counts)
        except Exception:  # keep the schedule alive; the next tick retries
            log.exception("scheduled request work failed")


def install(app: FastAPI) -> None:
    if app.state.settings.mode == "test":
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        task = asyncio.create_task(_every(app), name="exchange-requests")
        try:
            async with inner(a) as state:
                yield state
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.router.lifespan_context = lifespan

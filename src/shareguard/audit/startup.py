"""Scheduled checkpoints while serving: every ``Settings.checkpoint_interval`` seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from shareguard.audit.service import AuditService

log = logging.getLogger(__name__)


def checkpoint_once(app: FastAPI) -> int:
    """Sign a checkpoint if the log grew; returns the tree size signed (or already signed)."""
    with app.state.session_factory() as session:
        return AuditService(session, app.state.settings).checkpoint().tree_size


async def _every(app: FastAPI, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            size = await asyncio.to_thread(checkpoint_once, app)
            log.info("audit checkpoint at tree size %d", size)
        except Exception:  # keep the schedule alive; the next run retries
            log.exception("scheduled audit checkpoint failed")


def install(app: FastAPI) -> None:
    """Wrap the app's lifespan so a background task signs checkpoints on a schedule."""
    interval = app.state.settings.checkpoint_interval
    if interval <= 0:
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        task = asyncio.create_task(_every(app, interval), name="audit-checkpoints")
        try:
            async with inner(a) as state:
                yield state
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.router.lifespan_context = lifespan

"""While serving: this process's integrator candidate (``integrator.Integrator``).

It integrates pending entries in batches and signs checkpoints every
``Settings.checkpoint_interval`` seconds (when the log has grown), while it holds the role.
``SHAREGUARD_INTEGRATOR=false`` leaves a process out (another process then integrates).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from shareguard.audit.integrator import Integrator


def install(app: FastAPI) -> None:
    """Wrap the app's lifespan so an integrator candidate runs while the app serves."""
    settings = app.state.settings
    if not settings.integrator:
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        integrator = Integrator(app.state.engine, settings)
        app.state.integrator = integrator
        integrator.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            await asyncio.to_thread(integrator.stop)

    app.router.lifespan_context = lifespan

"""`shareguard demo --scale seeds`: build the seed-scale year with a progress bar per stage."""

from __future__ import annotations

import time
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from shareguard.clikit import console, err_console
from shareguard.demo.seeds.build import build
from shareguard.demo.seeds.plan import Plan


def build_seeds(settings: Any, *, seed: int, fraction: float) -> Any:
    """Build (or go on building) the seed-scale world; prints what ran and how long it took."""

    plan = Plan(seed=seed).scaled(fraction)
    folder = settings.data_dir / "seeds" / str(seed)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, console=err_console) as bar:
        tasks: dict[str, Any] = {}

        def say(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = build(plan, folder, progress=say)
        for task in tasks.values():  # a stage's last step may not report its end
            total = bar.tasks[task].total
            bar.update(task, completed=total if total is not None else 1, total=total or 1)
    took = time.monotonic() - started
    console.print(
        f"Seed-scale year ({fraction:g} of the public record's volumes): "
        f"{len(result.done)} stage(s) run, {len(result.skipped)} already done, in {took:.0f} s. "
        "Try: shareguard report --agreement HO-DVLA-001",
        highlight=False,
    )
    return result.world

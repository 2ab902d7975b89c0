"""What the before-and-after benchmarks share: an earlier commit's ``src/`` to run as the
baseline, and one measuring child run on a given ``src/`` that prints its figures as JSON.

Used by ``check_cost.py``, ``door_direction.py`` and ``run_prepare.py`` (run as scripts, so
this folder is on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def export_src(rev: str, into: Path) -> Path:
    """``src/`` of an earlier commit (``git archive``), for the "before" runs."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def child_json(
    script: str, src: Path, args: list[str], env: dict[str, str | None] | None = None
) -> Any:
    """Run ``script --child ARGS`` in a new process importing shareguard from ``src``; its
    last line of output, parsed as JSON. ``env`` adds to (or, with None values, removes from)
    this process's environment."""
    merged = {**os.environ, "PYTHONPATH": str(src), **(env or {})}
    child_env = {k: v for k, v in merged.items() if v is not None}
    out = subprocess.run(
        [sys.executable, script, "--child", *args],
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])

"""How long the command line takes to start, against the bare interpreter in the same run.

Each command is a fresh process; its CPU time (user + system, from the kernel's accounting of
the child) and wall time are measured, alternating the commands so machine load hits all
alike. Medians over ``--repeats`` runs.

- ``python -c pass``: the baseline (the interpreter alone);
- ``shareguard --help``: the list of commands (targets: under 0.3 s of CPU above the baseline);
- ``shareguard agreements list``: a real command on a fresh SQLite database (target: under 1 s).

Two ways Python may run the same installed code, each with its own bytecode folder
(``PYTHONPYCACHEPREFIX``) so neither depends on what the virtualenv happens to hold:

- ``bytecode`` (the figure): as installed code runs, its bytecode compiled once (pip compiles
  at install, ``make install`` too, and Python caches it on first import otherwise); one
  untimed run of each command fills the folder first;
- ``compiling``: every run compiles every module it imports from source, standard library
  included, as happens where ``PYTHONDONTWRITEBYTECODE=1`` is set over an install that was not
  compiled (these helpers' shells, many container images).

    python benchmarks/cli_startup.py [--repeats 7]

Writes benchmarks/results/cli_startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHAREGUARD = str(Path(sys.executable).with_name("shareguard"))
COMMANDS = {
    "bare_python": [sys.executable, "-c", "pass"],
    "help": [SHAREGUARD, "--help"],
    "agreements_list": [SHAREGUARD, "agreements", "list"],
}
MODES = ("bytecode", "compiling")


def timed(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def summary(runs: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Medians, the baseline, CPU above it and the ratio to it."""
    median = {
        name: {m: round(statistics.median(r[m] for r in rs), 3) for m in ("wall_s", "cpu_s")}
        for name, rs in runs.items()
    }
    base = median["bare_python"]
    others = {k: v for k, v in median.items() if k != "bare_python"}
    return {
        "baseline": base,
        "figure": others,
        "cpu_above_baseline_s": {
            k: round(v["cpu_s"] - base["cpu_s"], 3) for k, v in others.items()
        },
        "ratio_to_baseline_cpu": {
            k: round(v["cpu_s"] / max(base["cpu_s"], 1e-3), 1) for k, v in others.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cli_startup.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="shareguard-cli-") as work:
        base_env = {**os.environ, "SHAREGUARD_DATA_DIR": work, "COLUMNS": "100"}
        base_env.pop("SHAREGUARD_DATABASE_URL", None)
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        envs = {
            "bytecode": {**base_env, "PYTHONPYCACHEPREFIX": f"{work}/pyc"},
            "compiling": {
                **base_env,
                "PYTHONPYCACHEPREFIX": f"{work}/empty",
                "PYTHONDONTWRITEBYTECODE": "1",
            },
        }
        subprocess.run([SHAREGUARD, "db", "upgrade"], env=base_env, check=True, capture_output=True)
        for argv in COMMANDS.values():  # fills the bytecode folder; not timed
            subprocess.run(argv, env=envs["bytecode"], check=True, stdout=subprocess.DEVNULL)
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            mode: {name: [] for name in COMMANDS} for mode in MODES
        }
        for _ in range(args.repeats):
            for mode in MODES:
                for name, argv in COMMANDS.items():
                    runs[mode][name].append(timed(argv, envs[mode]))
    modes = {mode: summary(runs[mode]) for mode in MODES}
    result = {
        "benchmark": "cli_startup",
        "repeats": args.repeats,
        **modes["bytecode"],
        "compiling": modes["compiling"],
        "targets": {"help_cpu_above_baseline_s": 0.3, "agreements_list_wall_s": 1.0},
        "load_average": {"before": load_before[0], "after": os.getloadavg()[0]},
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**result, "runs": runs}, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""How long the command line takes to start, against the bare interpreter in the same run.

Each command is a fresh process; its CPU time (user + system, from the kernel's accounting of
the child) and wall time are measured, alternating the commands so machine load hits all
alike. Medians over ``--repeats`` runs.

- ``python -c pass``: the baseline (the interpreter alone);
- ``shareguard --help``: the list of commands (targets: under 0.3 s of CPU above the baseline);
- ``shareguard agreements list``: a real command on a fresh SQLite database (target: under 1 s).

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

HERE = Path(__file__).resolve().parent
SHAREGUARD = str(Path(sys.executable).with_name("shareguard"))
COMMANDS = {
    "bare_python": [sys.executable, "-c", "pass"],
    "help": [SHAREGUARD, "--help"],
    "agreements_list": [SHAREGUARD, "agreements", "list"],
}


def timed(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cli_startup.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shareguard-cli-") as data_dir:
        env = {**os.environ, "SHAREGUARD_DATA_DIR": data_dir, "COLUMNS": "100"}
        env.pop("SHAREGUARD_DATABASE_URL", None)
        subprocess.run([SHAREGUARD, "db", "upgrade"], env=env, check=True, capture_output=True)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in COMMANDS}
        for _ in range(args.repeats):
            for name, argv in COMMANDS.items():
                runs[name].append(timed(argv, env))
    median = {
        name: {m: round(statistics.median(r[m] for r in rs), 3) for m in ("wall_s", "cpu_s")}
        for name, rs in runs.items()
    }
    base = median["bare_python"]
    result = {
        "benchmark": "cli_startup",
        "repeats": args.repeats,
        "baseline": base,
        "figure": {k: v for k, v in median.items() if k != "bare_python"},
        "cpu_above_baseline_s": {
            k: round(v["cpu_s"] - base["cpu_s"], 3) for k, v in median.items() if k != "bare_python"
        },
        "ratio_to_baseline_cpu": {
            k: round(v["cpu_s"] / max(base["cpu_s"], 1e-3), 1)
            for k, v in median.items()
            if k != "bare_python"
        },
        "targets": {"help_cpu_above_baseline_s": 0.3, "agreements_list_wall_s": 1.0},
        "load_average": os.getloadavg()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**result, "runs": runs}, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

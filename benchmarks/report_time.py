"""Report time on a built world: the figures counted in SQL against counting every row in Python.

Reads the database the settings name (``SHAREGUARD_DATA_DIR`` or ``SHAREGUARD_DATABASE_URL``),
built beforehand with ``shareguard demo --scale seeds --no-serve`` (or ``--fraction F`` for a
smaller year). For each of ``--agreements`` and for the overall report it measures, in one
process and alternating so machine load hits both alike:

* ``sql``: ``ReportService.section`` - what ``shareguard report --agreement REF`` and the
  console's report pages compute (aggregations in the database, ``reports.sources``);
* ``python`` (the baseline): ``reports.rows.figures`` - every disclosure, check, candidate,
  notice and refusal read into Python and counted there, as reports were before issue 20.

Then ``shareguard report --agreement REF --format json`` is timed as a user runs it (a fresh
process: start-up included, bytecode cached by a first run). Medians of ``--repeats`` runs;
the ratio is python / sql.

    python benchmarks/report_time.py                  # HO-DVLA-001, HO-HMRC-001, overall
    python benchmarks/report_time.py --repeats 3 --out benchmarks/results/report_time.json

Prints JSON; writes it to ``--out`` too when given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agreements", default="HO-DVLA-001,HO-HMRC-001")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from shareguard.agreements.models import Agreement
    from shareguard.audit.models import AuditEntry
    from shareguard.config import get_settings
    from shareguard.policy.models import Disclosure
    from shareguard.reports import rows
    from shareguard.reports.service import ReportService
    from shareguard.storage.base import utcnow
    from shareguard.storage.db import get_engine, session_factory

    settings = get_settings()
    factory = session_factory(get_engine())
    refs = [r for r in args.agreements.split(",") if r]
    results: dict[str, Any] = {}
    with factory() as s:
        size = {
            "disclosures": s.scalar(select(func.count()).select_from(Disclosure)),
            "audit_entries": s.scalar(select(func.count()).select_from(AuditEntry)),
        }
        targets: list[tuple[str, Any]] = [
            (ref, s.scalar(select(Agreement).where(Agreement.reference == ref))) for ref in refs
        ]
        targets.append(("overall", None))
        for name, agreement in targets:
            if name != "overall" and agreement is None:
                raise SystemExit(f"no agreement {name}: build the world first")
            sql_times, py_times = [], []
            figures: Any = None
            for _ in range(args.repeats):
                s.expire_all()
                t, report = _timed(lambda a=agreement: ReportService(s).section(a))
                sql_times.append(t)
                s.expire_all()
                t, figures = _timed(
                    lambda a=agreement: rows.figures(
                        s,
                        a.id if a is not None else None,
                        limit_per_day=a.limit_per_day if a is not None else None,
                        now=utcnow(),
                    )
                )
                py_times.append(t)
            sql, py = statistics.median(sql_times), statistics.median(py_times)
            results[name] = {
                "sql_seconds": round(sql, 4),
                "python_seconds": round(py, 4),
                "ratio": round(py / sql, 1) if sql else None,
                "disclosures": report["disclosures"]["total"],
                "adverse_actions": report["matching"]["adverse_actions"],
                "overturned": report["matching"]["overturned"],
                "same_figures": figures["disclosures"]["total"] == report["disclosures"]["total"]
                and figures["matching"]["adverse_actions"] == report["matching"]["adverse_actions"],
            }
    cli: dict[str, Any] = {}
    exe = Path(sys.executable).with_name("shareguard")
    # As installed code runs: with its bytecode cached. (Some environments set
    # PYTHONDONTWRITEBYTECODE, which makes every run compile every module first.)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for ref in refs[:1]:
        subprocess.run(
            [str(exe), "report", "--agreement", ref], capture_output=True, env=env, check=True
        )
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            done = subprocess.run(
                [str(exe), "report", "--agreement", ref, "--format", "json"],
                capture_output=True,
                env=env,
                check=True,
            )
            times.append(time.perf_counter() - start)
            json.loads(done.stdout)
        start = time.perf_counter()
        subprocess.run([str(exe), "--help"], capture_output=True, env=env, check=True)
        startup = time.perf_counter() - start
        cli[ref] = {
            "command": f"shareguard report --agreement {ref} --format json",
            "wall_seconds": round(statistics.median(times), 3),
            "process_start_seconds (shareguard --help)": round(startup, 3),
        }
    out = {
        "benchmark": "report_time",
        "database": settings.url.split("@")[-1],
        "size": size,
        "repeats": args.repeats,
        "median_seconds": results,
        "cli": cli,
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

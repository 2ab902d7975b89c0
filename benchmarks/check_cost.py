"""The in-process cost of one check: milliseconds and SQL statements per check.

``--kind share_code`` (the default): a share-code check. ``--kind attributes``: an attribute
check (name and date of birth, as the NHS trust asks; ``CheckService.attribute_check``) for
persons of the register, 5% of them with a typo in the given name, by the NHS partner's key.

Setup: ``benchmarks/checks.py``'s ``seed()`` (a register of N synthetic persons, the demo
world, share codes for right to work) in a temporary SQLite file. Each measurement runs in a
fresh Python process against that file (WAL, ``synchronous=FULL``, as served), and does what
the HTTP route does for one check, without HTTP: a new session, ``authenticate_key``,
``CheckService.share_code_check``, commit (as the request boundary does), close. Statements
are counted at the driver (``before_cursor_execute``, so ``BEGIN IMMEDIATE`` and each
executemany count once).

Baselines in the same run:

* ``before``: the same measurement with the code of an earlier commit (``--before REV``,
  default ``HEAD``; its ``src/`` is exported with ``git archive``), in alternating runs, so
  machine load hits both alike. Skipped with ``--before ''``.
* ``authenticated_read``: a trivial authenticated read (a session, ``authenticate_key``, the
  caller's organisation by primary key) measured in every run: the floor a check is compared
  with (it writes nothing, so it has no commit to wait for).

Reported figures are medians over ``--repeats`` runs of each run's median per-check time.

    python benchmarks/check_cost.py                       # 5,000 persons, 300 checks x 5 runs
    python benchmarks/check_cost.py --before c8ae28c      # compare with an earlier commit
    python benchmarks/check_cost.py --synchronous OFF     # the same without the commit's fsync
    python benchmarks/check_cost.py --kind attributes     # attribute checks

Writes benchmarks/results/check_cost.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from before_after import child_json, export_src

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def measure(data_dir: Path, checks: int, warmup: int, synchronous: str) -> dict[str, Any]:
    """One run in this process, with whichever ``shareguard`` is on the path."""
    import gc
    from datetime import date

    from sqlalchemy import event

    from shareguard.accounts.models import Organisation
    from shareguard.accounts.service import AccountService
    from shareguard.checks import AttributeQuery, CheckService
    from shareguard.storage.db import make_engine, session_factory

    spec = json.loads((data_dir / "spec.json").read_text())
    key, bodies = spec["key"], [json.loads(b) for b in spec["bodies"]]
    attributes = spec.get("kind") == "attributes"
    engine = make_engine(f"sqlite:///{data_dir / 'shareguard.db'}", synchronous=synchronous)
    factory = session_factory(engine)
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    def one_check(i: int) -> str:
        body = bodies[i % len(bodies)]
        with factory() as session:
            principal = AccountService(session).authenticate_key(key)
            born = date.fromisoformat(body["date_of_birth"])
            if attributes:
                query = AttributeQuery(body["purpose"], body["given"], body["family"], born)
                result = CheckService(session).attribute_check(principal, query)
            else:
                result = CheckService(session).share_code_check(
                    principal, body["code"], born, body["purpose"]
                )
            session.commit()  # the request boundary's commit (a no-op where services commit)
            return result.outcome

    def one_read(_: int) -> str:
        with factory() as session:
            principal = AccountService(session).authenticate_key(key)
            session.get(Organisation, principal.organisation_id)
            session.rollback()
            return "read"

    def timed(fn: Any, n: int) -> tuple[list[float], float, dict[str, int]]:
        for i in range(warmup):
            fn(i)
        gc.collect()
        times, outcomes = [], {}
        before = statements[0]
        for i in range(n):
            t0 = time.perf_counter()
            out = fn(i)
            times.append((time.perf_counter() - t0) * 1000)
            outcomes[out] = outcomes.get(out, 0) + 1
        return times, (statements[0] - before) / n, outcomes

    check_times, check_sql, outcomes = timed(one_check, checks)
    read_times, read_sql, _ = timed(one_read, checks)
    engine.dispose()
    return {
        "check_ms_median": statistics.median(check_times),
        "check_ms_p90": sorted(check_times)[int(len(check_times) * 0.9)],
        "check_sql_per_check": check_sql,
        "read_ms_median": statistics.median(read_times),
        "read_sql_per_read": read_sql,
        "outcomes": outcomes,
    }


def attribute_bodies(url: str, n: int, seed_value: int) -> tuple[str, list[str]]:
    """The NHS partner's key and ``n`` attribute checks of registered persons (primary name
    and date of birth, 5% with a typo in the given name), its daily limit lifted."""
    import random

    from sqlalchemy import select, update

    from shareguard.agreements.models import Agreement
    from shareguard.demo.world import seed as seed_world
    from shareguard.status.models import NameKind, Person, PersonName
    from shareguard.storage.db import make_engine, unit_of_work

    engine = make_engine(url, synchronous="OFF")
    rng = random.Random(f"{seed_value}:attributes")
    with unit_of_work(engine) as session:
        session.execute(
            update(Agreement)
            .where(Agreement.reference == "HO-NHS-001")
            .values(limit_per_day=100_000_000)
        )
        rows = session.execute(
            select(PersonName.given, PersonName.family, Person.date_of_birth)
            .join(Person, Person.id == PersonName.person_id)
            .where(PersonName.kind == NameKind.PRIMARY)
            .order_by(Person.id)
        ).all()
        chosen = rng.sample(rows, min(n, len(rows)))
    key = seed_world(engine, seed=seed_value, persons=0).keys["nhs"]  # idempotent: reads it
    engine.dispose()
    bodies = []
    for given, family, born in chosen:
        if rng.random() < 0.05 and len(given) > 2:
            given = given[:-2] + given[-1] + given[-2]  # two letters swapped
        bodies.append(
            json.dumps(
                {
                    "given": given,
                    "family": family,
                    "date_of_birth": str(born),
                    "purpose": "nhs_charging",
                }
            )
        )
    return key, bodies


def run_child(src: Path, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {
        "SHAREGUARD_DATA_DIR": str(data_dir),
        "SHAREGUARD_MODE": "demo",
        "SHAREGUARD_DATABASE_URL": None,
    }
    child = [str(data_dir), "--checks", str(args.checks), "--warmup", str(args.warmup)]
    result: dict[str, Any] = child_json(
        __file__, src, [*child, "--synchronous", args.synchronous], env
    )
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ms_per_check_median": round(statistics.median(r["check_ms_median"] for r in runs), 2),
        "ms_per_check_p90_median": round(statistics.median(r["check_ms_p90"] for r in runs), 2),
        "sql_per_check": round(statistics.median(r["check_sql_per_check"] for r in runs), 2),
        "authenticated_read_ms_median": round(
            statistics.median(r["read_ms_median"] for r in runs), 2
        ),
        "authenticated_read_sql": round(statistics.median(r["read_sql_per_read"] for r in runs), 2),
        "runs_ms": [round(r["check_ms_median"], 2) for r in runs],
        "outcomes_last_run": runs[-1]["outcomes"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--persons", type=int, default=5_000)
    ap.add_argument("--codes", type=int, default=500)
    ap.add_argument("--checks", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument(
        "--synchronous",
        default="FULL",
        choices=["FULL", "NORMAL", "OFF"],
        help="SQLite sync level (OFF shows the cost without the commit's fsync)",
    )
    ap.add_argument("--kind", default="share_code", choices=["share_code", "attributes"])
    ap.add_argument("--before", default="HEAD", help="git revision to compare with ('' = none)")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "check_cost.json")
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.checks, args.warmup, args.synchronous)))
        return

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT / "src"))
    tmp = tempfile.TemporaryDirectory()
    data_dir = Path(tmp.name) / "data"
    data_dir.mkdir()
    os.environ["SHAREGUARD_DATA_DIR"] = str(data_dir)
    os.environ["SHAREGUARD_MODE"] = "demo"
    os.environ.pop("SHAREGUARD_DATABASE_URL", None)
    from checks import seed  # benchmarks/checks.py

    url = f"sqlite:///{data_dir / 'shareguard.db'}"
    key, bodies = seed(url, args.persons, args.codes, args.seed)
    if args.kind == "attributes":
        key, bodies = attribute_bodies(url, args.codes, args.seed)
    spec = {"key": key, "bodies": bodies, "kind": args.kind}
    (data_dir / "spec.json").write_text(json.dumps(spec))
    before_src = export_src(args.before, Path(tmp.name)) if args.before else None
    after_runs, before_runs = [], []
    for _ in range(args.repeats):  # alternate, so load changes hit both alike
        if before_src is not None:
            before_runs.append(run_child(before_src, data_dir, args))
        after_runs.append(run_child(ROOT / "src", data_dir, args))
    after = summarise(after_runs)
    report: dict[str, Any] = {
        "benchmark": "check_cost",
        "kind": args.kind,
        "command": " ".join(["python", "benchmarks/check_cost.py", *sys.argv[1:]]),
        "persons": args.persons,
        "share_codes": len(bodies),
        "checks_per_run": args.checks,
        "repeats": args.repeats,
        "durability": f"SQLite WAL, synchronous={args.synchronous}, one transaction per check",
        "figure": {"code": "working tree", **after},
        "ratio_check_vs_authenticated_read": round(
            after["authenticated_read_ms_median"] / after["ms_per_check_median"], 3
        ),
    }
    if before_runs:
        before = summarise(before_runs)
        report["baseline"] = {"code": args.before, **before}
        report["ratio_ms_after_vs_before"] = round(
            after["ms_per_check_median"] / before["ms_per_check_median"], 3
        )
        report["ratio_sql_after_vs_before"] = round(
            after["sql_per_check"] / before["sql_per_check"], 3
        )
    report["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    tmp.cleanup()


if __name__ == "__main__":
    main()

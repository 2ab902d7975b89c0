"""A match run's reading of its part of the watch list, before and after a change.

``RunService.prepare`` is what a run does before it links: the gate decides every person
of the run's part of the agreement's active list (the status register's facts, the policy's
decision, data-quality holds) and the names and details it links on are read. In the
seed-scale year that is 16 gatings of about 110,000 people, most of a run's CPU beside
linking. Each run is a fresh Python process on a copy of a built seed-scale world
(``--world``: a data directory ``shareguard demo --scale seeds`` built, e.g. with
``--fraction 0.3``): one unit of work that starts a DVLA run over half of the active list,
prepares it (timed: CPU of the process) and rolls back. The baseline is the same against the
source of an earlier commit (``--before REV``, exported with ``git archive``), runs
alternating so that machine load hits both alike; medians over ``--repeats`` runs of each.

    python benchmarks/run_prepare.py --world /tmp/seeds-0.3 --before 44c1f5e

Writes benchmarks/results/run_prepare.json (``--out`` to change). The world is read, and
each run writes two small files (the run's filter and who its gate kept out) into a run
folder of the world's data directory: use a copy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from before_after import child_json, export_src

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def child(reference: str) -> None:
    """One run with whichever ``shareguard`` is first on the path; prints JSON."""
    import time

    from sqlalchemy import select

    from shareguard.accounts.principal import Principal
    from shareguard.agreements.models import Agreement
    from shareguard.matching import RunOptions, RunService
    from shareguard.matching.models import EntryState, MatchRun, PartnerDataset, WatchlistEntry
    from shareguard.storage.db import unit_of_work

    with unit_of_work() as s:
        agreement = s.scalar(select(Agreement).where(Agreement.reference == reference))
        dataset = s.scalar(
            select(PartnerDataset)
            .where(PartnerDataset.agreement_id == agreement.id)
            .order_by(PartnerDataset.created_at.desc())
        )
        starter = s.execute(
            select(MatchRun.started_org, MatchRun.started_by).where(
                MatchRun.started_by.is_not(None)
            )
        ).first()
        principal = Principal(starter[0], starter[1], frozenset({"caseworker"}))
        people = sorted(
            s.scalars(
                select(WatchlistEntry.person_id).where(
                    WatchlistEntry.agreement_id == agreement.id,
                    WatchlistEntry.state == EntryState.ACTIVE,
                )
            )
        )[::2]
        service = RunService(s)
        run = service.start_run(
            agreement.id, dataset.id, principal, RunOptions(person_ids=frozenset(people))
        )
        service.begin(run.id)
        started = time.process_time()
        inputs = service.prepare(run.id)
        took = time.process_time() - started
        shutil.rmtree(run.out_dir, ignore_errors=True)
        s.rollback()
    print(
        json.dumps(
            {
                "prepare_cpu_s": round(took, 3),
                "us_per_person": round(took / len(people) * 1e6, 1),
                "people": len(people),
                "included": inputs.counts["watchlist"],
                "watch_rows": len(inputs.watch),
            }
        )
    )


def run(src: Path, world: Path, reference: str) -> dict[str, float]:
    figures: dict[str, float] = child_json(
        __file__, src, [reference], {"SHAREGUARD_DATA_DIR": str(world)}
    )
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world", type=Path, help="a built seed-scale data directory (a copy)")
    ap.add_argument("--before", default="44c1f5e", help="git revision to compare with")
    ap.add_argument("--agreement", default="HO-DVLA-001")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "run_prepare.json")
    args = ap.parse_args()
    if args.child is not None:
        child(args.child)
        return
    if args.world is None:
        ap.error("--world is required")
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="sg-prepare-") as tmp:
        before_src, after_src = export_src(args.before, Path(tmp)), ROOT / "src"
        runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for _ in range(args.repeats):
            runs["before"].append(run(before_src, args.world, args.agreement))
            runs["after"].append(run(after_src, args.world, args.agreement))
            loads.append(os.getloadavg()[0])
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
    same = all(med["before"][m] == med["after"][m] for m in ("people", "included", "watch_rows"))
    result = {
        "benchmark": "run_prepare",
        "before": args.before,
        "agreement": args.agreement,
        "repeats": args.repeats,
        "figure": med["after"],
        "baseline": med["before"],
        "ratio_after_to_before": round(
            med["after"]["prepare_cpu_s"] / med["before"]["prepare_cpu_s"], 3
        ),
        "same_list_and_rows": same,
        "load_average_1m": {"min": min(loads), "max": max(loads)},
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("figure", "baseline", "ratio_after_to_before")}))


if __name__ == "__main__":
    main()

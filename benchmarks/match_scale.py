"""Matching at scale: DuckDB out of core against the in-memory path, same run, same data.

A labelled synthetic watch list (100,000 people) and partner files of 1M and 3M rows (10M
with ``--with-10m``), from the project's generator (``matching.synth``, fixed seed; 30,000 of
the watch list are in each partner file, with typos, other romanisations, swaps, date slips
and moved postcodes). Each size, each path, runs in its own process so that its peak RSS
(``ru_maxrss``) is its own. Both paths start from the partner Parquet file on disk, as a run
does, and end with each person and record's best pair:

* ``out_of_core`` — ``engine.link_out_of_core`` (what a DuckDB run does now): DuckDB reads the
  prepared file in place with ``--memory-limit`` and spills past it; pairs stream to Parquet.
* ``spark`` (``--spark SIZES``) — ``engine.link`` on Spark (``SHAREGUARD_SPARK_*``), compared
  with out of core pair for pair; its peak memory includes the JVM's (sampled).
* ``in_memory`` — ``engine.link`` on frames then best-per-person (the path before), the
  same-run baseline, for sizes up to ``--baseline-max`` (3M by default; ~3.2 GiB per million
  rows).

* ``out_of_core_without_middle_names`` (``--middle-names-baseline``) — the same out-of-core
  link on the same files with the ``middle_names`` column dropped from both: what the model
  did before it compared them (a file without them links exactly as before), the same-run
  baseline for the middle-name comparison.

The generator writes ``middle_names`` into both files (``synth.MIDDLE_NAMES``: who has them
and how partner files record them).

Reported per path: wall time, peak RSS, precision, recall and F1 at the automatic threshold
(0.95) and at the review threshold (0.5), and between the two paths the pairs that differ and
the largest probability difference. The load average at each start is recorded: the machine
is shared, so compare ratios within one run.

    python benchmarks/match_scale.py                        # 100k × {1M, 3M}
    python benchmarks/match_scale.py --sizes 1000000        # one size
    python benchmarks/match_scale.py --with-10m             # and 100k × 10M (out of core only)
    python benchmarks/match_scale.py --sizes 1000000 --baseline-max 0 --middle-names-baseline
                                                            # and without middle names
    python benchmarks/match_scale.py --sizes 1000000 --baseline-max 0 --spark 1000000
                                                            # and on Spark (SHAREGUARD_SPARK_*)

Writes benchmarks/results/match_scale.json (``--out`` to change). ``--data DIR`` keeps the
generated files for another run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
THRESHOLD, REVIEW = 0.95, 0.5
TARGETS = {"peak_rss_gib_max_10m": 4.0, "f1_min_1m": 0.99, "f1_min_10m": 0.985}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_gib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30, 3)


def _scores(got: set[tuple[str, str]], true: set[tuple[str, str]]) -> dict[str, Any]:
    tp = len(got & true)
    precision = tp / len(got) if got else 0.0
    recall = tp / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "predicted": len(got),
        "true_positives": tp,
    }


def generate(folder: Path, n_watch: int, n_partner: int, seed: int) -> dict[str, Any]:
    """Write watchlist.parquet, partner.parquet (``record_id``, as an import leaves it), truth."""
    from shareguard.matching import synth

    started = time.perf_counter()
    data = synth.generate(n_watch, n_partner, seed=seed)
    data.watchlist.rename(columns={"person_ref": "unique_id"}).to_parquet(
        folder / "watchlist.parquet", index=False
    )
    data.partner.to_parquet(folder / "partner.parquet", index=False, row_group_size=100_000)
    data.truth.to_parquet(folder / "truth.parquet", index=False)
    return {
        "watchlist_rows": n_watch,
        "partner_rows": n_partner,
        "true_pairs": len(data.truth),
        "seed": seed,
        "generate_seconds": round(time.perf_counter() - started, 1),
    }


def _without_middle_names(folder: Path) -> Path:
    """The partner file with its ``middle_names`` column dropped (written once, kept beside)."""
    import pyarrow.parquet as pq

    dest = folder / "partner-without-middle-names.parquet"
    if not dest.exists():
        table = pq.read_table(folder / "partner.parquet")
        if "middle_names" in table.column_names:
            table = table.drop_columns(["middle_names"])
        pq.write_table(table, dest, row_group_size=100_000)
    return dest


def worker(
    folder: Path, path: str, memory_limit: str, pairs_out: Path, *, middle_names: bool = True
) -> dict[str, Any]:
    """One measured link in this process, from the files on disk to the best pairs."""
    import pandas as pd

    from shareguard.matching import datasets, engine
    from shareguard.matching.pairs import _best_per_person

    watch = pd.read_parquet(folder / "watchlist.parquet")
    partner_file = folder / "partner.parquet"
    if not middle_names:
        watch = watch.drop(columns=["middle_names"], errors="ignore")
        partner_file = _without_middle_names(folder)
    truth = pd.read_parquet(folder / "truth.parquet")
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), _cpu_seconds()
    stats: dict[str, Any] = {}
    if path == "out_of_core":
        with tempfile.TemporaryDirectory(prefix="match-scale-", dir=folder) as work:
            streamed = engine.link_out_of_core(
                watch,
                partner_file,
                pairs_out,
                threshold=REVIEW,
                match_threshold=THRESHOLD,
                work_dir=Path(work),
                memory_limit=memory_limit,
            )
        stats = streamed.stats
        wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        pairs = pd.read_parquet(pairs_out)
    elif path == "spark":
        # The JVM is a child process: its memory is sampled with this process's.
        from shareguard.matching.spark_submit import best_per_person

        with _TreeRss() as tree:
            session = engine.spark_session("shareguard-match-scale")
            try:
                partner = datasets.read_dataset(partner_file)
                linked = engine.link(
                    watch, partner, threshold=REVIEW, backend="spark", spark=session
                )
            finally:
                session.stop()
        pairs = best_per_person(linked.pairs, THRESHOLD)
        wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        stats = {"peak_rss_gib_with_jvm": round(tree.peak / 2**30, 3)}
        pairs.to_parquet(pairs_out, index=False)
    else:
        partner = datasets.read_dataset(partner_file)
        pairs = _best_per_person(engine.link(watch, partner, threshold=REVIEW).pairs)
        wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        pairs.to_parquet(pairs_out, index=False)
    true = set(zip(truth["watchlist_id"], truth["partner_id"], strict=True))

    def found(at: float) -> set[tuple[str, str]]:
        kept = pairs[pairs["match_probability"] >= at]
        return set(zip(kept["watchlist_id"], kept["partner_id"], strict=True))

    return {
        "path": path if middle_names else f"{path}_without_middle_names",
        "wall_seconds": round(wall, 1),
        # CPU time of the link (all threads): less moved by other work than wall time.
        "cpu_seconds": round(cpu, 1),
        "peak_rss_gib": _peak_rss_gib(),
        "load_average_at_start": round(load, 2),
        "at_threshold_0.95": _scores(found(THRESHOLD), true),
        "at_review_0.5": _scores(found(REVIEW), true),
        "engine_stats": {
            k: stats[k]
            for k in (
                "pairs_scored",
                "spill_peak_bytes",
                "memory_limit",
                "peak_rss_gib_with_jvm",
                "middle_names",
            )
            if k in stats
        },
    }


class _TreeRss:
    """Samples the resident memory of this process and its children (Spark's JVM)."""

    def __init__(self, every: float = 0.5) -> None:
        import threading

        self.peak, self.every = 0, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(self.every):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # it ended meanwhile
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)

    def __enter__(self) -> _TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _child(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"child failed ({' '.join(args[:2])}):\n{done.stderr[-4000:]}")
    # The child's own ru_maxrss is reported by the child; RUSAGE_CHILDREN here would be the
    # largest child so far, not this one.
    return json.loads(done.stdout.strip().splitlines()[-1])


def _agreement(a: Path, b: Path, other: str = "in_memory") -> dict[str, Any]:
    import pandas as pd

    x, y = pd.read_parquet(a), pd.read_parquet(b)
    both = x.merge(y, on=["watchlist_id", "partner_id"], how="outer", indicator=True)
    common = both[both["_merge"] == "both"]
    diff = (common["match_probability_x"] - common["match_probability_y"]).abs()
    bands = {
        "pairs_in_both_with_another_band": int(
            (
                (common["match_probability_x"] >= THRESHOLD)
                != (common["match_probability_y"] >= THRESHOLD)
            ).sum()
        )
    }
    return {
        **bands,
        "pairs_only_out_of_core": int((both["_merge"] == "left_only").sum()),
        f"pairs_only_{other}": int((both["_merge"] == "right_only").sum()),
        "pairs_in_both": len(common),
        "max_probability_difference": float(diff.max()) if len(diff) else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--watchlist", type=int, default=100_000)
    parser.add_argument("--sizes", default="1000000,3000000", help="partner rows, comma-separated")
    parser.add_argument("--with-10m", action="store_true", help="add 10,000,000 partner rows")
    parser.add_argument("--baseline-max", type=int, default=3_000_000)
    parser.add_argument(
        "--spark",
        default="",
        help="partner sizes (comma-separated) to link on Spark too (SHAREGUARD_SPARK_*)",
    )
    parser.add_argument("--no-out-of-core", action="store_true", help="reuse the last pairs")
    parser.add_argument(
        "--middle-names-baseline",
        action="store_true",
        help="also link out of core without the middle_names column (same run, same files)",
    )
    parser.add_argument("--without-middle-names", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit (out of core)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--data", type=Path, help="keep generated data here (reused if present)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "match_scale.json")
    parser.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        folder, n_watch, n_partner = args.generate
        print(json.dumps(generate(Path(folder), int(n_watch), int(n_partner), args.seed)))
        return
    if args.worker:
        folder, path, limit, pairs_out = args.worker
        found = worker(
            Path(folder), path, limit, Path(pairs_out), middle_names=not args.without_middle_names
        )
        print(json.dumps(found))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.with_10m and 10_000_000 not in sizes:
        sizes.append(10_000_000)
    result: dict[str, Any] = {
        "benchmark": "match_scale",
        "command": " ".join(["python", "benchmarks/match_scale.py", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        },
        "thresholds": {"automatic": THRESHOLD, "review": REVIEW},
        "targets": TARGETS,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="match-scale-") as tmp:
        root = args.data or Path(tmp)
        for n in sizes:
            folder = root / f"w{args.watchlist}-p{n}-s{args.seed}"
            folder.mkdir(parents=True, exist_ok=True)
            meta = folder / "data.json"
            if not meta.exists():
                # The seed goes to the child: without it every folder held the default seed's data.
                made = _child(
                    [
                        "--generate",
                        str(folder),
                        str(args.watchlist),
                        str(n),
                        "--seed",
                        str(args.seed),
                    ]
                )
                meta.write_text(json.dumps(made))
            entry: dict[str, Any] = {"data": json.loads(meta.read_text())}
            ooc = folder / "pairs-out_of_core.parquet"
            if not args.no_out_of_core:
                entry["out_of_core"] = _child(
                    ["--worker", str(folder), "out_of_core", args.memory_limit, str(ooc)]
                )
                print(json.dumps(entry), file=sys.stderr)
            if args.middle_names_baseline:
                without = folder / "pairs-out_of_core-without_middle_names.parquet"
                entry["out_of_core_without_middle_names"] = _child(
                    [
                        "--worker",
                        str(folder),
                        "out_of_core",
                        args.memory_limit,
                        str(without),
                        "--without-middle-names",
                    ]
                )
                if not args.no_out_of_core:
                    entry["ratio_with_over_without_middle_names"] = {
                        "wall": round(
                            entry["out_of_core"]["wall_seconds"]
                            / entry["out_of_core_without_middle_names"]["wall_seconds"],
                            3,
                        ),
                        "peak_rss": round(
                            entry["out_of_core"]["peak_rss_gib"]
                            / entry["out_of_core_without_middle_names"]["peak_rss_gib"],
                            3,
                        ),
                    }
                print(json.dumps(entry), file=sys.stderr)
            if str(n) in args.spark.split(","):
                on_spark = folder / "pairs-spark.parquet"
                entry["spark"] = _child(["--worker", str(folder), "spark", "-", str(on_spark)])
                entry["agreement_spark"] = _agreement(ooc, on_spark, "spark")
                print(json.dumps(entry), file=sys.stderr)
            if n <= args.baseline_max:
                mem = folder / "pairs-in_memory.parquet"
                entry["in_memory"] = _child(["--worker", str(folder), "in_memory", "-", str(mem)])
                entry["ratio_out_of_core_over_in_memory"] = {
                    "wall": round(
                        entry["out_of_core"]["wall_seconds"] / entry["in_memory"]["wall_seconds"],
                        3,
                    ),
                    "peak_rss": round(
                        entry["out_of_core"]["peak_rss_gib"] / entry["in_memory"]["peak_rss_gib"],
                        3,
                    ),
                }
                entry["agreement"] = _agreement(ooc, mem)
            result["runs"].append(entry)
            print(json.dumps(entry), file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

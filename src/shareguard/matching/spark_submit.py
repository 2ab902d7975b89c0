"""Link a watch list with a partner file on a Spark cluster: the entry point for spark-submit.

    spark-submit --master spark://host:7077 --driver-memory 4g \\
        src/shareguard/matching/spark_submit.py \\
        --watchlist watchlist.parquet --partner partner.parquet --out matches.parquet

Both inputs are Parquet with ``unique_id`` (or ``record_id`` for the partner, as an import
leaves it), ``first_name``, ``surname``, ``date_of_birth``, ``postcode``. The output has the
columns of a run's ``matches.parquet`` (each person and record's best pair, banded), and the
trained model is written beside it (``<out>.model.json``). It links only: gating the watch
list before and recording, disclosing and reviewing after are the run's own steps
(docs/matching.md §7). ``SHAREGUARD_SPARK_*`` adds to the submit command's settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from shareguard.matching import engine
from shareguard.matching.pairs import _best_per_person
from shareguard.matching.spark import session


def best_per_person(pairs: pd.DataFrame, match_threshold: float) -> pd.DataFrame:
    """Each (person, record)'s strongest name, banded, in the columns of ``matches.parquet``."""
    pairs = _best_per_person(pairs)
    pairs["band"] = [
        "match" if p >= match_threshold else "possible" for p in pairs["match_probability"]
    ]
    return pairs[list(engine.PAIR_COLUMNS)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watchlist", type=Path, required=True)
    parser.add_argument("--partner", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threshold", type=float, default=0.5, help="review threshold")
    parser.add_argument("--match-threshold", type=float, default=0.95)
    args = parser.parse_args(argv)
    watch = pd.read_parquet(args.watchlist)
    partner = pd.read_parquet(args.partner).rename(columns={"record_id": "unique_id"})
    spark = session("shareguard-spark-submit", submitted=True)
    try:
        result = engine.link(watch, partner, threshold=args.threshold, backend="spark", spark=spark)
    finally:
        spark.stop()
    pairs = best_per_person(result.pairs, args.match_threshold)
    pairs.to_parquet(args.out, index=False)
    args.out.with_name(args.out.name + ".model.json").write_text(json.dumps(result.trained_model))
    print(json.dumps({"pairs": len(pairs), "matches": int((pairs["band"] == "match").sum())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the matching model learns against the truth, and how far its evidence can go.

On a labelled set written by ``match_scale.py --data DIR`` (watchlist.parquet, partner.parquet,
truth.parquet), one link (``engine.link``, scored down to ``--floor``) and then:

* **learned against true m**: the true pairs alone, scored with the trained model, give each
  level's true m (the share of true pairs at it), beside the m EM learned and the weight;
* **blocking and misses**: how many true pairs are scored at all, and how many fields the
  pairs missed at 0.95 have damaged;
* **calibration**: the share of pairs that are true, by band of probability;
* **the ceiling of the evidence** (needs scikit-learn, which ``recordlinkage`` brings): a
  gradient-boosted classifier trained on the truth (5 folds by watch-list person,
  out-of-fold) with the model's own evidence — each comparison's weight, the competition
  step, candidates per person and per record — then with the partner value's own frequency
  too (which reads the generator: only its true matches are misspelt), and deciding pairs
  with a missing field by the model (only its true matches miss a field); and, instead of the
  frequency, with **raw similarities** the levels round off (each name's Jaro–Winkler and
  Damerau–Levenshtein distance to the other record's forename and surname; the date of
  birth's year, month and day differences, digits differing, day/month swapped): if that
  ceiling is well above the model's, finer levels would pay (and again deciding pairs with a
  missing field by the model). F1 at 0.95 and 0.5.

    python benchmarks/match_evidence.py --data /tmp/m21_data/w100000-p1000000-s20260101

Writes benchmarks/results/match_evidence.json (``--out``). The link holds the partner file in
memory (~3.7 GiB at 1M rows).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shareguard.matching import engine, splink_settings
from shareguard.matching.prepare import prepare

HERE = Path(__file__).resolve().parent
THRESHOLD, REVIEW = 0.95, 0.5
COMPARED = ("first_name", "surname", "dob", "postcode")
EXACT = {
    "first_name": "Exact match on first_name",
    "surname": "Exact match on surname",
    "dob": "Exact match on dob",
    "postcode": "Exact match on postcode",
}
MISSING = "missing on one side"


def _steps(pairs: pd.DataFrame) -> pd.DataFrame:
    """Each pair's level and weight per comparison, and its competition step, from its
    explanation."""
    rows = []
    for text in pairs["explanation"]:
        row: dict[str, Any] = {"w_competition": 0.0}
        for step in json.loads(text):
            row[f"L_{step['comparison']}"] = step["level"]
            row[f"w_{step['comparison']}"] = step["match_weight"]
        rows.append(row)
    out = pd.DataFrame(rows, index=pairs.index)
    for comp in splink_settings.COMPARISONS:
        if f"w_{comp}" not in out:
            out[f"w_{comp}"] = 0.0
        out[f"w_{comp}"] = out[f"w_{comp}"].fillna(0.0)
    return out


def _scores(got: pd.Series, true: pd.Series, n_true: int) -> dict[str, Any]:
    tp = int((got & true).sum())
    fp = int((got & ~true).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / n_true
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "false_positives": fp,
        "missed": n_true - tp,
    }


def learned_against_true(
    watch: pd.DataFrame, partner: pd.DataFrame, truth: pd.DataFrame, model: dict[str, Any]
) -> dict[str, Any]:
    """Score the true pairs alone with ``model``: each level's share of them against its m."""
    w = watch[watch["unique_id"].isin(truth["watchlist_id"])]
    p = partner[partner["unique_id"].isin(truth["partner_id"])]
    scored = engine.link(w, p, threshold=0.0, model=model).pairs
    true = set(zip(truth["watchlist_id"], truth["partner_id"], strict=True))
    keep = [
        (a, b) in true for a, b in zip(scored["watchlist_id"], scored["partner_id"], strict=True)
    ]
    steps = _steps(scored[keep])
    out: dict[str, Any] = {"true_pairs_scored": int(sum(keep))}
    for comp in model["comparisons"]:
        name = comp["output_column_name"]
        if name in splink_settings.CORRECTIONS:
            continue
        col = steps[f"L_{name}"]
        present = col[col != MISSING]
        levels = []
        for lvl in comp["comparison_levels"]:
            if lvl.get("is_null_level"):
                continue
            label = lvl.get("label_for_charts") or lvl["sql_condition"]
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            share = float((present == label).mean()) if len(present) else 0.0
            levels.append(
                {
                    "level": label,
                    "m_learned": m,
                    "m_true": round(share, 5),
                    "u": u,
                    "weight_learned": round(math.log2(m / u), 2) if m and u else None,
                }
            )
        out[name] = levels
    return out


#: Raw similarity features (``raw_similarity``): names, then date of birth.
RAW_NAMES = tuple(f"{a}_{b}_{k}" for a in ("fn", "sn") for b in ("fn", "sn") for k in ("jw", "dl"))
RAW_DOB = ("dob_years", "dob_months", "dob_days", "dob_digits", "dob_swapped")


def raw_similarity(pairs: pd.DataFrame, watch: pd.DataFrame, partner: pd.DataFrame) -> pd.DataFrame:
    """Each pair's raw similarities from the prepared values (``watch``, ``partner`` indexed by
    ``unique_id``); -1 where a value is missing, distances capped at 5."""
    import jellyfish

    left = watch.loc[pairs["watchlist_id"]].reset_index(drop=True)
    right = partner.loc[pairs["partner_id"]].reset_index(drop=True)
    cols = {"fn": "first_name", "sn": "surname"}
    out: dict[str, Any] = {}

    def each(func: Any, a: pd.Series, b: pd.Series) -> np.ndarray:
        return np.array(
            [
                func(x, y) if isinstance(x, str) and isinstance(y, str) else -1
                for x, y in zip(a, b, strict=True)
            ],
            dtype=float,
        )

    for a, ca in cols.items():
        for b, cb in cols.items():
            out[f"{a}_{b}_jw"] = each(jellyfish.jaro_winkler_similarity, left[ca], right[cb])
            out[f"{a}_{b}_dl"] = each(
                jellyfish.damerau_levenshtein_distance, left[ca], right[cb]
            ).clip(-1, 5)

    def dob(x: object, y: object) -> tuple[float, ...]:
        if not (isinstance(x, str) and isinstance(y, str)):
            return (-1.0,) * len(RAW_DOB)
        (ya, ma, da), (yb, mb, db) = (map(int, (v[:4], v[5:7], v[8:10])) for v in (x, y))
        digits = sum(i != j for i, j in zip(x, y, strict=True))
        return (abs(ya - yb), abs(ma - mb), abs(da - db), digits, float((ma, da) == (db, mb)))

    dates = np.array([dob(x, y) for x, y in zip(left["dob"], right["dob"], strict=True)])
    for i, name in enumerate(RAW_DOB):
        out[name] = dates[:, i].clip(-1, 100)
    return pd.DataFrame(out, index=pairs.index)


def ceiling(pairs: pd.DataFrame, n_true: int) -> dict[str, Any]:
    """A classifier trained on the truth with the model's evidence: what that evidence allows."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    base = [f"w_{c}" for c in splink_settings.COMPARISONS] + ["w_competition", "match_weight"]
    counts = [
        pairs.groupby("watchlist_id")["watchlist_id"].transform("size"),
        pairs.groupby("partner_id")["partner_id"].transform("size"),
    ]
    y = pairs["true"].to_numpy()
    missing = (pairs[[f"L_{c}" for c in ("dob", "postcode")]] == MISSING).any(axis=1)

    def oof(columns: list[str]) -> np.ndarray:
        x = np.column_stack([pairs[columns].astype(float).to_numpy(), *counts])
        out = np.zeros(len(pairs))
        for train, test in GroupKFold(5).split(x, y, pairs["watchlist_id"]):
            model = HistGradientBoostingClassifier(
                max_iter=300, learning_rate=0.05, random_state=0
            ).fit(x[train], y[train])
            out[test] = model.predict_proba(x[test])[:, 1]
        return out

    true = pairs["true"]
    own = oof(base)
    with_freq = oof([*base, "partner_first_name_freq", "partner_surname_freq"])
    raw = oof([*base, *RAW_NAMES, *RAW_DOB])
    model_p = pairs["match_probability"]
    return {
        "model": {
            "at_0.95": _scores(model_p >= THRESHOLD, true, n_true),
            "at_0.5": _scores(model_p >= REVIEW, true, n_true),
        },
        "trained_on_truth_model_evidence": {
            "at_0.95": _scores(pd.Series(own >= THRESHOLD, index=pairs.index), true, n_true),
            "at_0.5": _scores(pd.Series(own >= REVIEW, index=pairs.index), true, n_true),
        },
        "plus_partner_value_frequency": {
            "at_0.95": _scores(pd.Series(with_freq >= THRESHOLD, index=pairs.index), true, n_true),
            "at_0.5": _scores(pd.Series(with_freq >= REVIEW, index=pairs.index), true, n_true),
        },
        "plus_raw_similarity": {
            "at_0.95": _scores(pd.Series(raw >= THRESHOLD, index=pairs.index), true, n_true),
            "at_0.5": _scores(pd.Series(raw >= REVIEW, index=pairs.index), true, n_true),
        },
        "plus_raw_similarity_missing_decided_by_model": {
            "at_0.95": _scores(
                pd.Series(
                    np.where(missing, model_p >= THRESHOLD, raw >= THRESHOLD), index=pairs.index
                ),
                true,
                n_true,
            ),
            "at_0.5": _scores(
                pd.Series(np.where(missing, model_p >= REVIEW, raw >= REVIEW), index=pairs.index),
                true,
                n_true,
            ),
        },
        "plus_partner_value_frequency_missing_decided_by_model": {
            "at_0.95": _scores(
                pd.Series(
                    np.where(missing, model_p >= THRESHOLD, with_freq >= THRESHOLD),
                    index=pairs.index,
                ),
                true,
                n_true,
            ),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="a match_scale.py data folder")
    parser.add_argument("--floor", type=float, default=0.001, help="score pairs down to this")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "match_evidence.json")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    started = time.perf_counter()
    watch = pd.read_parquet(args.data / "watchlist.parquet")
    partner = pd.read_parquet(args.data / "partner.parquet").rename(
        columns={"record_id": "unique_id"}
    )
    truth = pd.read_parquet(args.data / "truth.parquet")
    n_true = len(truth)
    linked = engine.link(watch, partner, threshold=args.floor)
    pairs = linked.pairs.join(_steps(linked.pairs))
    true = set(zip(truth["watchlist_id"], truth["partner_id"], strict=True))
    pairs["true"] = [
        (a, b) in true for a, b in zip(pairs["watchlist_id"], pairs["partner_id"], strict=True)
    ]
    prepared = prepare(partner)
    for col in ("first_name", "surname"):
        freq = prepared[col].value_counts()
        values = prepared.set_index("unique_id")[col]
        pairs[f"partner_{col}_freq"] = (
            pairs["partner_id"].map(values).map(freq).fillna(0).astype(float)
        )

    pairs = pairs.join(
        raw_similarity(
            pairs, prepare(watch).set_index("unique_id"), prepared.set_index("unique_id")
        )
    )
    missed = pairs[pairs["true"] & (pairs["match_probability"] < THRESHOLD)]
    damaged = sum((missed[f"L_{c}"] != EXACT[c]).astype(int) for c in COMPARED)
    bins = [args.floor, 0.01, 0.1, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0001]
    band = pd.cut(pairs["match_probability"], bins, right=False)
    calibration = [
        {"band": str(k), "pairs": len(g), "share_true": round(float(g["true"].mean()), 4)}
        for k, g in pairs.groupby(band, observed=True)
    ]
    result: dict[str, Any] = {
        "benchmark": "match_evidence",
        "data": str(args.data),
        "load_average_at_start": round(load, 2),
        "true_pairs": n_true,
        "true_pairs_scored": int(pairs["true"].sum()),
        "missed_at_0.95": {
            "scored": len(missed),
            "not_scored": n_true - int(pairs["true"].sum()),
            "by_fields_damaged": {int(k): int(v) for k, v in damaged.value_counts().items()},
        },
        "calibration": calibration,
        "learned_against_true": learned_against_true(watch, partner, truth, linked.trained_model),
    }
    try:
        result["ceiling"] = ceiling(pairs, n_true)
    except ImportError:  # scikit-learn absent: the rest stands
        result["ceiling"] = "scikit-learn not installed"
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_at_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

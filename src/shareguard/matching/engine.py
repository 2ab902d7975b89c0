"""The one adapter around Splink: train a model per run and score watch list ⨝ partner pairs.

DuckDB is the default backend. Spark is selectable for deployments that outgrow one
machine; pyspark is imported only when asked for, with an error naming the extra to install.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from shareguard.errors import InvalidInput
from shareguard.matching import splink_settings
from shareguard.matching.prepare import prepare

BACKENDS = ("duckdb", "spark")
#: Pairs this likely are scored even under the threshold: they may compete with a stronger one.
COMPETITOR_FLOOR = 0.01
#: A watch-list row ``person~n`` is one of the names person ``person`` is known by.
ALIAS_SEP = "~"
WATCHLIST = "watchlist"
PARTNER = "partner"

#: Called with a stage name and the fraction of the whole run done (0..1).
Progress = Callable[[str, float], None]

log = logging.getLogger(__name__)


@dataclass
class LinkResult:
    """Scored pairs (ids, probability, weight, explanation) and the trained model."""

    pairs: pd.DataFrame
    trained_model: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)


def _quiet_splink() -> None:
    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)


def spark_session(app_name: str = "shareguard-matching") -> Any:
    """A local Spark session configured for Splink (its similarity functions jar)."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InvalidInput(
            "the Spark backend needs pyspark: pip install 'shareguard[spark]'", field="backend"
        ) from exc
    import tempfile

    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="shareguard-spark-"))
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _db_api(backend: str, spark: Any | None) -> Any:
    if backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI()
    if backend == "spark":
        try:
            from splink import SparkAPI
        except ImportError as exc:  # pragma: no cover
            raise InvalidInput(
                "the Spark backend needs pyspark: pip install 'shareguard[spark]'", field="backend"
            ) from exc
        return SparkAPI(spark_session=spark or spark_session())
    raise InvalidInput(
        f"unknown backend '{backend}' (use one of: {', '.join(BACKENDS)})", field="backend"
    )


def _register(db: Any, backend: str, frame: pd.DataFrame, name: str, spark: Any | None) -> Any:
    if backend == "spark":
        session = db.spark  # the session SparkAPI holds
        return db.register(
            session.createDataFrame(frame.astype(object).where(frame.notna(), None)),
            dataset_display_name=name,
        )
    # DuckDB scans a registered frame at every training step and at scoring: as Arrow it reads
    # compact strings in place instead of converting a million Python strings each time.
    import pyarrow as pa

    schema = pa.schema([(c, pa.string()) for c in frame.columns])  # all-missing stays text
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    return db.register(table, dataset_display_name=name)


def _level_weights(trained: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """Comparison -> (match weight, level label) for each trained level, from the saved model."""
    out: dict[str, list[tuple[float, str]]] = {}
    for comp in trained["comparisons"]:
        levels = []
        for lvl in comp["comparison_levels"]:
            label = lvl.get("label_for_charts") or lvl["sql_condition"]
            if lvl.get("is_null_level"):
                levels.append((0.0, "missing on one side"))
                continue
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            if m and u:
                levels.append((math.log2(m / u), label))
            elif m:  # never met in the u sample: Splink scores it with a default u
                levels.append((math.nan, label))
        out[comp["output_column_name"]] = levels
    return out


def explain(scored: pd.DataFrame, trained: dict[str, Any]) -> list[str]:
    """Per-pair waterfall (JSON): the prior, then each comparison's level and match weight.

    Splink returns each comparison's match weight (``mw_<name>``); the level is the trained
    level with that weight, so the explanation names what agreed and by how much.
    """
    levels = _level_weights(trained)
    lam = float(trained["probability_two_random_records_match"])
    prior = round(math.log2(lam / (1 - lam)), 4)
    comps = [c for c in levels if f"mw_{c}" in scored.columns]
    weights = {c: scored[f"mw_{c}"].astype(float).tolist() for c in comps}
    # A rare name's exact match counts for more than a common one's: Splink reports that
    # term-frequency adjustment separately; it belongs to its comparison's step.
    tf_adj = {
        c: scored[f"mw_tf_adj_{c}"].astype(float).fillna(0.0).tolist()
        for c in comps
        if f"mw_tf_adj_{c}" in scored.columns
    }
    competition = (
        scored["mw_competition"].astype(float).tolist()
        if "mw_competition" in scored.columns
        else None
    )
    memo: dict[tuple[str, float], str] = {}

    def label(comp: str, weight: float) -> str:
        key = (comp, round(weight, 6))
        if key not in memo:
            known = [lw for lw in levels[comp] if not math.isnan(lw[0])]
            unseen = [lw[1] for lw in levels[comp] if math.isnan(lw[0])]
            nearest = min(known, key=lambda lw: abs(lw[0] - weight)) if known else (0.0, "")
            # A weight no trained level has belongs to the level scored with a default u.
            far = abs(nearest[0] - weight) > 1e-3
            memo[key] = unseen[0] if unseen and far else nearest[1]
        return memo[key]

    out = []
    for i in range(len(scored)):
        steps = [
            {
                "comparison": "prior",
                "level": "probability two random records match",
                "match_weight": prior,
            }
        ]
        steps += [
            {
                "comparison": c,
                "level": label(c, weights[c][i]),
                "match_weight": round(weights[c][i] + (tf_adj[c][i] if c in tf_adj else 0.0), 4),
            }
            for c in comps
        ]
        if competition is not None and competition[i] < 0:
            steps.append(
                {
                    "comparison": "competition",
                    "level": "other strong candidates for the same person or record",
                    "match_weight": round(competition[i], 4),
                }
            )
        out.append(json.dumps(steps, separators=(",", ":")))
    return out


def link(
    watchlist: pd.DataFrame,
    partner: pd.DataFrame,
    *,
    threshold: float = 0.5,
    backend: str = "duckdb",
    plain: bool = False,
    seed: int = 7,
    progress: Progress | None = None,
    spark: Any | None = None,
    max_pairs_u: float = 1e6,
) -> LinkResult:
    """Prepare, train (u by random sampling, prior from exact rules, m by EM) and score.

    Both frames have ``unique_id, first_name, surname, date_of_birth, postcode``. Returns
    pairs with probability ≥ ``threshold`` as ``watchlist_id, partner_id, match_probability,
    match_weight, explanation``; the trained model is the Splink JSON to save with the run.
    """
    from splink import Linker

    _quiet_splink()
    say = progress or (lambda _stage, _done: None)
    say("preparing", 0.02)
    left, right = prepare(watchlist), prepare(partner)
    say("registering", 0.10)
    db = _db_api(backend, spark)
    inputs = [
        _register(db, backend, left, WATCHLIST, spark),
        _register(db, backend, right, PARTNER, spark),
    ]
    del left, right  # the backend holds its own copy; a million-row frame is ~1 GiB here
    linker = Linker(inputs, splink_settings.settings(plain=plain, backend=backend))
    say("training: prior", 0.15)
    linker.training.estimate_probability_two_random_records_match(
        list(splink_settings.DETERMINISTIC_RULES), recall=splink_settings.DETERMINISTIC_RECALL
    )
    say("training: u by random sampling", 0.20)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=seed, num_chunks=1)
    for i, rule in enumerate(splink_settings.EM_BLOCKING):
        say(f"training: EM session {i + 1}", 0.35 + 0.15 * i)
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    say("scoring pairs", 0.70)
    predictions = linker.inference.predict(
        threshold_match_probability=threshold if plain else min(threshold, COMPETITOR_FLOOR)
    )
    scored = predictions.as_pandas_dataframe()
    if not plain:
        scored = weigh_competitors(scored)
    scored = scored[scored["match_probability"] >= threshold].reset_index(drop=True)
    say("explaining", 0.92)
    trained = linker.misc.save_model_to_json()
    pairs = _orient(scored)
    pairs["explanation"] = explain(scored, trained) if len(scored) else []
    pairs = pairs.sort_values(
        ["match_probability", "watchlist_id", "partner_id"],
        ascending=[False, True, True],
        kind="stable",
    ).reset_index(drop=True)
    say("done", 1.0)
    return LinkResult(
        pairs=pairs,
        trained_model=trained,
        stats={"backend": backend, "pairs_scored_above_threshold": len(pairs)},
    )


def weigh_competitors(scored: pd.DataFrame) -> pd.DataFrame:
    """Lower a pair's probability by the other strong candidates for its person or its record.

    A partner record is one person, and a person is (almost always) one record in a partner
    dataset, so candidates sharing either end exclude each other: a pair's probability is its
    odds over one plus the odds of every candidate that shares its watch-list person or its
    partner record (the posterior when at most one of them can be the match). A lone candidate
    keeps its probability; two look-alikes for one person both fall towards review, which is
    where a namesake belongs. The adjustment (``mw_competition``, ≤ 0) joins the pair's match
    weight and its explanation. Watch-list rows ``person~n`` are names of one person, not
    competitors.
    """
    if scored.empty:
        return scored.assign(mw_competition=pd.Series([], dtype=float))
    out = scored.copy()
    left_is_watch = out["source_dataset_l"] == WATCHLIST
    watch = out["unique_id_l"].where(left_is_watch, out["unique_id_r"]).astype(str)
    person = watch.str.split(ALIAS_SEP, n=1).str[0]
    record = out["unique_id_r"].where(left_is_watch, out["unique_id_l"]).astype(str)
    weight = out["match_weight"].astype(float).clip(upper=1000.0)
    odds = pd.DataFrame({"person": person, "record": record, "odds": 2.0**weight})
    # A person's names are one candidate per record: its best name speaks for it.
    best = odds.groupby(["person", "record"], sort=False)["odds"].max().rename("best")
    per_person = best.groupby(level="person").sum().rename("per_person")
    per_record = best.groupby(level="record").sum().rename("per_record")
    odds = odds.join(best, on=["person", "record"])
    odds = odds.join(per_person, on="person").join(per_record, on="record")
    others = (odds["per_person"] - odds["best"]) + (odds["per_record"] - odds["best"])
    adjust = -(1.0 + others.clip(lower=0.0)).map(math.log2)
    out["mw_competition"] = adjust.to_numpy()
    out["match_weight"] = weight.to_numpy() + out["mw_competition"]
    out["match_probability"] = 1.0 / (1.0 + 2.0 ** (-out["match_weight"]))
    return out


def _orient(scored: pd.DataFrame) -> pd.DataFrame:
    """Name each side: Splink orders the two inputs itself."""
    if scored.empty:
        return pd.DataFrame(
            {
                "watchlist_id": pd.Series([], dtype=str),
                "partner_id": pd.Series([], dtype=str),
                "match_probability": pd.Series([], dtype=float),
                "match_weight": pd.Series([], dtype=float),
            }
        )
    left_is_watch = scored["source_dataset_l"] == WATCHLIST
    return pd.DataFrame(
        {
            "watchlist_id": scored["unique_id_l"]
            .where(left_is_watch, scored["unique_id_r"])
            .astype(str),
            "partner_id": scored["unique_id_r"]
            .where(left_is_watch, scored["unique_id_l"])
            .astype(str),
            "match_probability": scored["match_probability"].astype(float).round(6),
            "match_weight": scored["match_weight"].astype(float).round(4),
        }
    )

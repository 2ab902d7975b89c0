"""The one adapter around Splink: train a model per run and score watch list ⨝ partner pairs.

DuckDB is the default backend. Spark is selectable for deployments that outgrow one
machine; pyspark is imported only when asked for, with an error naming the extra to install.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from shareguard.errors import InvalidInput
from shareguard.matching import splink_settings
from shareguard.matching.prepare import PREPARED_COLUMNS, prepare
from shareguard.matching.spark import session as configured_session

# Splink, DuckDB and pyarrow are imported inside the functions that link, not here: the run
# pipeline and the console import this module, and Splink alone takes about a second to load,
# which every page and CLI command that never links would pay.

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


@dataclass
class StreamedLink:
    """Scored pairs written to a Parquet file (``path``), and the trained model."""

    path: Path
    rows: int
    trained_model: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)


#: Columns of a pairs file, in order (``band`` only when a match threshold is given).
PAIR_COLUMNS = (
    "watchlist_id",
    "partner_id",
    "match_probability",
    "match_weight",
    "band",
    "explanation",
)


def _quiet_splink() -> None:
    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)


def spark_session(app_name: str = "shareguard-matching") -> Any:
    """A Spark session for Splink, configured by ``SHAREGUARD_SPARK_*`` (``matching.spark``)."""
    return configured_session(app_name)


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
        from pyspark.sql.types import StringType, StructField, StructType

        session = db.spark  # the session SparkAPI holds
        # Declared as text: Spark cannot infer a type for a column missing on every row (a
        # file without middle names).
        schema = StructType([StructField(str(c), StringType(), True) for c in frame.columns])
        return db.register(
            session.createDataFrame(frame.astype(object).where(frame.notna(), None), schema),
            dataset_display_name=name,
        )
    # DuckDB scans a registered frame at every training step and at scoring: as Arrow it reads
    # compact strings in place instead of converting a million Python strings each time.
    import pyarrow as pa

    schema = pa.schema([(c, pa.string()) for c in frame.columns])  # all-missing stays text
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    return db.register(table, dataset_display_name=name)


def use_partner_frequencies(
    linker: Any, db: Any, backend: str, partner: str, *, middle_names: bool = False
) -> None:
    """Term frequencies from the partner file being matched, registered before scoring.

    Splink would count values over both inputs together; the namesakes that weaken an exact
    name are the partner file's, so each TF column (``splink_settings.TF_COLUMNS``) is counted
    there, in the backend (``partner`` is its table or view name), and registered as the
    column's lookup (``middle_names`` too when the model compares them).
    """
    tf = splink_settings.term_frequency_sql(partner, middle_names=middle_names)
    for col, sql in tf.items():
        name = f"sg_tf_{col}"
        if backend == "spark":
            table = db.register(db.spark.sql(sql), table_name=name)
        else:
            db.duckdb_con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")
            table = db.register(name, table_name=name)
        linker.table_management.register_term_frequency_lookup(table, col)


def partner_households(db: Any, backend: str, partner: str) -> float:
    """The household correction's weight (``splink_settings.household_weight``) for this file.

    Counted on the partner file being matched, in the backend, before the model is built:
    how often records at one postcode share a surname there, against chance.
    """
    sql = splink_settings.household_sql(partner)
    if backend == "spark":
        row = tuple(db.spark.sql(sql).collect()[0])
    else:
        [row] = db.duckdb_con.execute(sql).fetchall()
    return splink_settings.household_weight(*(float(x or 0.0) for x in row))


def _level_weights(trained: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """Comparison -> (match weight, level label) for each trained level, from the saved model."""
    out: dict[str, list[tuple[float, str]]] = {}
    for comp in trained["comparisons"]:
        levels = []
        missing = []
        for lvl in comp["comparison_levels"]:
            label = lvl.get("label_for_charts") or lvl["sql_condition"]
            if lvl.get("is_null_level"):
                missing.append((0.0, "missing on one side"))
                continue
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            if m and u:
                levels.append((math.log2(m / u), label))
            elif m:  # never met in the u sample: Splink scores it with a default u
                levels.append((math.nan, label))
        # Last, so that a real level of weight 0 (the name pair's: it has none of its own and
        # moves the weight only by its term-frequency adjustment) wins the tie.
        out[comp["output_column_name"]] = levels + missing
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
            # A correction (the name pair) is a step only where it changed the weight.
            if c not in splink_settings.CORRECTIONS
            or weights[c][i] + (tf_adj[c][i] if c in tf_adj else 0.0) != 0.0
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
    model: dict[str, Any] | None = None,
) -> LinkResult:
    """Prepare, train (u by random sampling, prior from exact rules, m by EM) and score.

    Both frames have ``unique_id, first_name, surname, date_of_birth, postcode`` and may have
    ``middle_names`` (compared where both hold some; a missing one is neutral). Returns
    pairs with probability ≥ ``threshold`` as ``watchlist_id, partner_id, match_probability,
    match_weight, explanation``; the trained model is the Splink JSON to save with the run.
    """
    from splink import Linker

    _quiet_splink()
    say = progress or (lambda _stage, _done: None)
    say("preparing", 0.02)
    left, right = prepare(watchlist), prepare(partner)
    n_pairs = float(len(left)) * float(len(right))
    if model is not None:
        middle = splink_settings.uses_middle_names(model)
    else:
        # Compared only when both inputs hold some: a file without them links as before.
        middle = not plain and bool(
            left["middle_names"].notna().any() and right["middle_names"].notna().any()
        )
    say("registering", 0.10)
    db = _db_api(backend, spark)
    inputs = [
        _register(db, backend, left, WATCHLIST, spark),
        _register(db, backend, right, PARTNER, spark),
    ]
    del left, right  # the backend holds its own copy; a million-row frame is ~1 GiB here
    if model is not None:
        linker = Linker(inputs, model)
    else:
        household = 0.0 if plain else partner_households(db, backend, inputs[1].physical_name)
        linker = Linker(
            inputs,
            splink_settings.settings(
                plain=plain, backend=backend, household=household, middle_names=middle
            ),
        )
    if not plain:
        use_partner_frequencies(linker, db, backend, inputs[1].physical_name, middle_names=middle)
    _train_or_reuse(
        linker, model, seed=seed, max_pairs_u=max_pairs_u, say=say, pairs=n_pairs, plain=plain
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


def _train_or_reuse(
    linker: Any,
    model: dict[str, Any] | None,
    *,
    seed: int,
    max_pairs_u: float,
    say: Progress,
    pairs: float,
    plain: bool = False,
) -> None:
    """Train, or score with ``model`` (a trained model saved by an earlier run, its settings
    and parameters whole): no u sampling, no EM. Term frequencies are registered from the
    partner file being matched either way (``use_partner_frequencies``). ``pairs``: watch-list
    rows x partner rows; ``plain`` (the benchmark's baseline) trains as Splink does."""
    if model is None:
        _train(linker, seed=seed, max_pairs_u=max_pairs_u, say=say)
        if not plain:
            _bound_levels(linker, pairs)
    else:
        say("reusing a trained model", 0.6)


def _train(linker: Any, *, seed: int, max_pairs_u: float, say: Progress) -> None:
    """The training recipe: prior from exact rules, u by random sampling, m by EM."""
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


def _bound_levels(linker: Any, pairs: float) -> None:
    """After EM: no trained level's m under ``splink_settings.unseen_m_floor``, then no nearer
    level weaker than a farther one (``splink_settings.monotone_weights``; m = u x 2^weight, u
    as sampled). Fixed levels (the corrections) are left as they are."""
    # Splink has no public setter for a trained level's m: its settings object is the model.
    settings = linker._settings_obj
    floor = splink_settings.unseen_m_floor(
        float(settings._probability_two_random_records_match), pairs
    )
    for comp in settings.comparisons:
        for lvl in comp.comparison_levels:
            if lvl.is_null_level or lvl._fix_m_probability or lvl.m_probability is None:
                continue
            lvl.m_probability = max(lvl.m_probability, floor)
    for comp in settings.comparisons:
        first = splink_settings.ORDERED_FROM.get(comp.output_column_name)
        if first is None:
            continue
        levels = [lvl for lvl in comp.comparison_levels if not lvl.is_null_level]
        labels = [lvl.label_for_charts for lvl in levels]
        # A level EM never met (m unset) keeps Splink's handling; the others are ordered.
        chain = [
            lvl for lvl in levels[labels.index(first) :] if lvl.m_probability and lvl.u_probability
        ]
        weights = [math.log2(lvl.m_probability / lvl.u_probability) for lvl in chain]
        for lvl, old, new in zip(
            chain, weights, splink_settings.monotone_weights(weights), strict=True
        ):
            if new > old:
                lvl.m_probability = lvl.u_probability * 2.0**new


def prepare_parquet(source: Path, dest: Path, *, batch_rows: int = 100_000) -> int:
    """Prepare a partner Parquet file batch by batch into ``dest``; returns the rows written.

    ``prepare`` is row by row (transliteration and phonetic keys are Python), so batches give
    exactly the frame ``prepare`` gives whole, with memory bounded by the batch. The id column
    is ``record_id`` (an imported dataset) or ``unique_id``; ``middle_names`` is read where
    the file has it (a dataset imported without them, or before they were, has not).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.string()) for c in ("unique_id", *PREPARED_COLUMNS)])
    src = pq.ParquetFile(source)
    names = src.schema_arrow.names
    id_col = "record_id" if "record_id" in names else "unique_id"
    wanted = [id_col, "first_name", "surname", "date_of_birth", "postcode"]
    if "middle_names" in names:
        wanted.append("middle_names")
    rows = 0
    with pq.ParquetWriter(dest, schema) as writer:
        for batch in src.iter_batches(batch_size=batch_rows, columns=wanted):
            frame = batch.to_pandas().rename(columns={id_col: "unique_id"})
            table = pa.Table.from_pandas(prepare(frame), schema=schema, preserve_index=False)
            writer.write_table(table)
            rows += table.num_rows
    return rows


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _SpillWatch:
    """Samples the size of DuckDB's spill directory in a thread: the peak shows it spilled."""

    def __init__(self, folder: Path, every: float = 0.02) -> None:
        self.folder, self.every, self.peak = folder, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="duckdb-spill-watch", daemon=True)

    def _size(self) -> int:
        total = 0
        try:
            for f in self.folder.iterdir():
                with contextlib.suppress(FileNotFoundError):  # DuckDB removed it meanwhile
                    total += f.stat().st_size
        except FileNotFoundError:
            return 0
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self._size())

    def __enter__(self) -> _SpillWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._size())


#: The competing-candidates adjustment (``weigh_competitors``) and the orientation, in SQL:
#: the same arithmetic on the same doubles (Kahan sums, as pandas' groupby sums).
_COMPETITION_SQL = """
CREATE TABLE sg_scored AS
WITH p AS (
    SELECT *,
        CASE WHEN source_dataset_l = 'watchlist' THEN unique_id_l ELSE unique_id_r END
            AS sg_watch,
        CASE WHEN source_dataset_l = 'watchlist' THEN unique_id_r ELSE unique_id_l END
            AS sg_record,
        least(CAST(match_weight AS DOUBLE), 1000.0) AS sg_weight
    FROM {pred}
),
o AS (
    SELECT *, split_part(sg_watch, '~', 1) AS sg_person, pow(2.0, sg_weight) AS sg_odds FROM p
),
best AS (
    SELECT sg_person, sg_record, max(sg_odds) AS sg_best FROM o GROUP BY sg_person, sg_record
),
per_person AS (SELECT sg_person, fsum(sg_best) AS sg_pp FROM best GROUP BY sg_person),
per_record AS (SELECT sg_record, fsum(sg_best) AS sg_pr FROM best GROUP BY sg_record),
adjusted AS (
    SELECT o.*,
        -log2(1.0 + greatest((per_person.sg_pp - best.sg_best)
            + (per_record.sg_pr - best.sg_best), 0.0)) AS mw_competition
    FROM o
    JOIN best ON o.sg_person = best.sg_person AND o.sg_record = best.sg_record
    JOIN per_person ON o.sg_person = per_person.sg_person
    JOIN per_record ON o.sg_record = per_record.sg_record
)
SELECT * EXCLUDE (match_weight, match_probability),
    sg_weight + mw_competition AS match_weight,
    1.0 / (1.0 + pow(2.0, -(sg_weight + mw_competition))) AS match_probability
FROM adjusted
"""

#: Pairs at or above the threshold; with ``per_person``, each (person, record)'s best name —
#: the pair ``_best_per_person`` keeps (highest rounded probability, then the lowest id).
_KEPT_SQL = """
CREATE TABLE sg_kept AS
SELECT * FROM (
    SELECT *, round(match_probability, 6) AS sg_p6,
        row_number() OVER (
            PARTITION BY {key}, sg_record
            ORDER BY round(match_probability, 6) DESC, sg_watch, sg_record
        ) AS sg_rank
    FROM sg_scored
    WHERE match_probability >= {threshold}
)
WHERE sg_rank = 1
"""


def _pairs_schema(with_band: bool) -> Any:
    import pyarrow as pa

    types = {"match_probability": pa.float64(), "match_weight": pa.float64()}
    return pa.schema(
        [(c, types.get(c, pa.string())) for c in PAIR_COLUMNS if with_band or c != "band"]
    )


def link_out_of_core(
    watchlist: pd.DataFrame,
    partner: Path,
    dest: Path,
    *,
    threshold: float = 0.5,
    match_threshold: float | None = None,
    per_person: bool = True,
    work_dir: Path | None = None,
    memory_limit: str = "2GB",
    threads: int = 0,
    seed: int = 7,
    progress: Progress | None = None,
    max_pairs_u: float = 1e6,
    chunk_rows: int = 20_000,
    model: dict[str, Any] | None = None,
) -> StreamedLink:
    """``link`` on DuckDB with the partner file kept on disk and the pairs streamed to ``dest``.

    The partner Parquet file is prepared batch by batch into a Parquet file that DuckDB reads
    in place; DuckDB works in a database file under ``work_dir`` with ``memory_limit`` and
    spills past it to ``work_dir`` rather than failing. The competing-candidates adjustment,
    and (``per_person``) each person and record's best name, run in SQL; explanations are
    written ``chunk_rows`` pairs at a time. ``dest`` gets ``watchlist_id`` (the person when
    ``per_person``), ``partner_id``, ``match_probability``, ``match_weight``, ``band`` (when
    ``match_threshold`` is given: ``match`` at or above it, else ``possible``) and
    ``explanation``, strongest first: the rows ``link`` followed by ``_best_per_person`` give.
    """
    # Heavy (DuckDB, Arrow, Splink): loaded when a run links, not when the CLI starts.
    import duckdb
    import pyarrow as pa
    from splink import DuckDBAPI, Linker

    _quiet_splink()
    say = progress or (lambda _stage, _done: None)
    base = work_dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="link-", dir=base))
    spill = work / "spill"
    spill.mkdir()
    stats: dict[str, Any] = {"backend": "duckdb", "memory_limit": memory_limit}
    try:
        say("preparing", 0.02)
        prepared = work / "partner.parquet"
        stats["partner_rows"] = prepare_parquet(partner, prepared)
        config: dict[str, Any] = {"memory_limit": memory_limit, "temp_directory": str(spill)}
        if threads:
            config["threads"] = threads
        con = duckdb.connect(str(work / "link.duckdb"), config=config)
        try:
            with _SpillWatch(spill) as spilled:
                say("registering", 0.10)
                source = _sql_text(str(prepared))
                con.execute(f"CREATE VIEW sg_partner AS SELECT * FROM read_parquet({source})")
                left = prepare(watchlist)
                if model is not None:
                    middle = splink_settings.uses_middle_names(model)
                else:
                    [(held,)] = con.execute("SELECT count(middle_names) FROM sg_partner").fetchall()
                    middle = bool(held) and bool(left["middle_names"].notna().any())
                stats["middle_names"] = middle
                schema = pa.schema([(c, pa.string()) for c in left.columns])
                con.register(
                    "sg_watch_arrow",
                    pa.Table.from_pandas(left, schema=schema, preserve_index=False),
                )
                del left
                db = DuckDBAPI(connection=con)
                inputs = [
                    db.register("sg_watch_arrow", dataset_display_name=WATCHLIST),
                    db.register("sg_partner", dataset_display_name=PARTNER),
                ]
                if model is not None:
                    linker = Linker(inputs, model)
                else:
                    household = partner_households(db, "duckdb", "sg_partner")
                    stats["household_weight"] = round(household, 4)
                    linker = Linker(
                        inputs,
                        splink_settings.settings(
                            backend="duckdb", household=household, middle_names=middle
                        ),
                    )
                use_partner_frequencies(linker, db, "duckdb", "sg_partner", middle_names=middle)
                _train_or_reuse(
                    linker,
                    model,
                    seed=seed,
                    max_pairs_u=max_pairs_u,
                    say=say,
                    pairs=float(len(watchlist)) * stats["partner_rows"],
                )
                say("scoring pairs", 0.70)
                predictions = linker.inference.predict(
                    threshold_match_probability=min(threshold, COMPETITOR_FLOOR)
                )
                trained = linker.misc.save_model_to_json()
                say("weighing competitors", 0.85)
                con.execute(_COMPETITION_SQL.format(pred=predictions.physical_name))
                predictions.drop_table_from_database_and_remove_from_cache()
                con.execute(
                    _KEPT_SQL.format(
                        key="sg_person" if per_person else "sg_watch", threshold=float(threshold)
                    )
                )
                [(scored,)] = con.sql("SELECT count(*) FROM sg_scored").fetchall()
                stats["pairs_scored"] = int(scored)
                say("explaining", 0.92)
                rows = _write_pairs(con, dest, trained, per_person, match_threshold, chunk_rows)
                stats["database_bytes"] = sum(
                    f.stat().st_size for f in work.glob("link.duckdb*") if f.is_file()
                )
        finally:
            con.close()
        stats["spill_peak_bytes"] = spilled.peak
        stats["pairs_scored_above_threshold"] = rows
        say("done", 1.0)
        return StreamedLink(path=dest, rows=rows, trained_model=trained, stats=stats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        part = dest.with_name(dest.name + ".part")
        part.unlink(missing_ok=True)


def _write_pairs(
    con: Any,
    dest: Path,
    trained: dict[str, Any],
    per_person: bool,
    match_threshold: float | None,
    chunk_rows: int,
) -> int:
    """Stream the kept pairs, strongest first, to ``dest`` (via ``.part``), explained per chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _pairs_schema(match_threshold is not None)
    part = dest.with_name(dest.name + ".part")
    reader = con.sql(
        "SELECT * FROM sg_kept ORDER BY sg_p6 DESC, sg_watch, sg_record"
    ).to_arrow_reader(chunk_rows)
    rows = 0
    with reader, pq.ParquetWriter(part, schema) as writer:
        for chunk in _frames(reader):
            frame = pd.DataFrame(
                {
                    "watchlist_id": (chunk["sg_person"] if per_person else chunk["sg_watch"])
                    .astype(str)
                    .to_numpy(),
                    "partner_id": chunk["sg_record"].astype(str).to_numpy(),
                    "match_probability": chunk["match_probability"].astype(float).round(6),
                    "match_weight": chunk["match_weight"].astype(float).round(4),
                }
            )
            if match_threshold is not None:
                frame["band"] = [
                    "match" if p >= match_threshold else "possible"
                    for p in frame["match_probability"]
                ]
            frame["explanation"] = explain(chunk, trained)
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
            rows += len(frame)
    part.replace(dest)
    return rows


def _frames(reader: Any) -> Iterator[pd.DataFrame]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        if batch.num_rows:
            yield batch.to_pandas()


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

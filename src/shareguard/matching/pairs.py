"""A run's scored pairs, outside the database: what a run links, linking it (through
``engine``), streaming the pairs in batches and writing them out with the trained model.

Nothing here opens a transaction: ``matching.tasks`` calls ``link`` and ``write_outputs``
between a run's units of work.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import pyarrow.parquet as pq

from shareguard.config import get_settings
from shareguard.csvfile import safe_frame
from shareguard.matching import datasets, engine

#: Called with a stage name and the fraction of the run done (0..1).
Progress = Callable[[str, float], None]
#: Scored pairs: a frame (the in-memory path) or a Parquet file streamed by DuckDB.
Pairs: TypeAlias = pd.DataFrame | Path
PAIR_COLUMNS = list(engine.PAIR_COLUMNS)


@dataclass(frozen=True)
class RunInputs:
    """What a run links, read before linking starts (no transaction is held while it links).

    The partner file stays on disk (``partner_path``, Parquet from import on); DuckDB reads
    it in place. ``partner`` loads it whole, for the in-memory path (Spark).
    """

    out: Path
    watch: pd.DataFrame
    partner_path: Path
    counts: dict[str, Any]
    threshold: float
    review_threshold: float
    backend: str
    #: A trained model to score with (an earlier run's, ``RunOptions.model_from``); None:
    #: train afresh.
    model: dict[str, Any] | None = None

    @property
    def partner(self) -> pd.DataFrame:
        return datasets.read_dataset(self.partner_path)


def link(
    inputs: RunInputs, say: Progress, spark: Any | None = None
) -> tuple[Pairs, dict[str, Any]]:
    """Link the watch list with the partner file: the best pair per person and record, banded,
    and the trained model. Touches no database (it runs between a run's units of work).

    On DuckDB the pairs stream to ``matches.parquet`` in the run's folder and that path is
    returned: memory stays within ``SHAREGUARD_MATCH_MEMORY_LIMIT`` (and what Python holds
    for one chunk), DuckDB spilling to ``SHAREGUARD_MATCH_TEMP_DIR`` past it. Spark returns
    a frame.
    """

    def linking(stage: str, done: float) -> None:
        say(f"linking: {stage}", 0.05 + 0.75 * done)

    if inputs.watch.empty or not inputs.counts.get("partner_rows"):
        pairs = pd.DataFrame(columns=PAIR_COLUMNS)
        trained: dict[str, Any] = {}
    elif inputs.backend == "duckdb":
        settings = get_settings()
        streamed = engine.link_out_of_core(
            inputs.watch,
            inputs.partner_path,
            inputs.out / "matches.parquet",
            threshold=inputs.review_threshold,
            match_threshold=inputs.threshold,
            work_dir=settings.match_temp_dir or datasets.data_dir() / "tmp",
            memory_limit=settings.match_memory_limit,
            threads=settings.match_threads,
            progress=linking,
            model=inputs.model,
        )
        return streamed.path, streamed.trained_model
    else:
        result = engine.link(
            inputs.watch,
            inputs.partner,
            threshold=inputs.review_threshold,
            backend=inputs.backend,
            progress=linking,
            spark=spark,
            model=inputs.model,
        )
        pairs, trained = _best_per_person(result.pairs), result.trained_model
    pairs["band"] = [
        "match" if p >= inputs.threshold else "possible" for p in pairs["match_probability"]
    ]
    return pairs, trained


def _best_per_person(pairs: pd.DataFrame) -> pd.DataFrame:
    """Collapse the per-name rows: keep each (person, partner record)'s strongest pair."""
    if pairs.empty:
        return pairs
    pairs = pairs.copy()
    pairs["watchlist_id"] = pairs["watchlist_id"].str.split("~").str[0]
    pairs = pairs.sort_values("match_probability", ascending=False, kind="stable")
    return pairs.drop_duplicates(["watchlist_id", "partner_id"]).reset_index(drop=True)


def pair_batches(pairs: Pairs, rows: int = 1000) -> Iterator[pd.DataFrame]:
    """The pairs ``rows`` at a time, in their order (strongest first)."""
    if isinstance(pairs, pd.DataFrame):
        for i in range(0, len(pairs), rows):
            yield pairs.iloc[i : i + rows]
        return
    for batch in pq.ParquetFile(pairs).iter_batches(batch_size=rows):
        yield batch.to_pandas()


def write_outputs(out: Path, pairs: Pairs, trained: dict[str, Any]) -> None:
    """matches.parquet and .csv (DESIGN §7), and the trained model saved with the run.

    Streamed pairs (a Parquet file) are copied into place if elsewhere and turned into CSV
    a batch at a time."""
    final = out / "matches.parquet"
    if isinstance(pairs, Path):
        if pairs.resolve() != final.resolve():
            tmp = out / "matches.parquet.part"
            shutil.copyfile(pairs, tmp)
            tmp.replace(final)
        frames: Iterator[pd.DataFrame] = pair_batches(final, rows=20_000)
    else:
        frame = pairs[PAIR_COLUMNS] if len(pairs) else pd.DataFrame(columns=PAIR_COLUMNS)
        tmp = out / "matches.parquet.part"
        frame.to_parquet(tmp, index=False)
        tmp.replace(final)
        frames = iter([frame])
    # Partner-supplied ids reach this file: spreadsheets must not run them as formulas.
    with (out / "matches.csv").open("w", newline="") as fh:
        first = True
        for chunk in frames:
            safe_frame(chunk[PAIR_COLUMNS]).to_csv(fh, index=False, header=first)
            first = False
        if first:
            fh.write(",".join(PAIR_COLUMNS) + "\n")
    (out / "model.json").write_text(json.dumps(trained, indent=2))

"""The Spark backend gives the same matches as DuckDB, in memory and streamed out of core, on
the same small dataset (~60 s)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shareguard.matching import engine, synth

pytestmark = pytest.mark.spark


def test_spark_and_duckdb_agree(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    data = synth.generate(150, 1500, seed=21)
    watch = data.watchlist.rename(columns={"person_ref": "unique_id"})
    partner = data.partner.rename(columns={"record_id": "unique_id"})
    spark = engine.spark_session("shareguard-test")
    try:
        on_spark = engine.link(watch, partner, threshold=0.9, backend="spark", spark=spark)
    finally:
        spark.stop()
    on_duckdb = engine.link(watch, partner, threshold=0.9, backend="duckdb")

    def pairs(result: engine.LinkResult) -> set[tuple[str, str]]:
        return set(zip(result.pairs["watchlist_id"], result.pairs["partner_id"], strict=True))

    assert len(pairs(on_duckdb)) >= 0.9 * len(data.truth)
    assert pairs(on_spark) == pairs(on_duckdb)
    both = on_spark.pairs.merge(on_duckdb.pairs, on=["watchlist_id", "partner_id"])
    assert isinstance(both, pd.DataFrame)
    assert (both["match_probability_x"] - both["match_probability_y"]).abs().max() < 0.05
    partner.to_parquet(tmp_path / "partner.parquet", index=False)
    streamed = engine.link_out_of_core(
        watch,
        tmp_path / "partner.parquet",
        tmp_path / "pairs.parquet",
        threshold=0.9,
        per_person=False,
        work_dir=tmp_path,
    )
    on_disk = pd.read_parquet(streamed.path)
    assert set(zip(on_disk["watchlist_id"], on_disk["partner_id"], strict=True)) == pairs(on_spark)


def test_the_spark_submit_entry_point_gives_a_runs_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyspark")
    from shareguard.matching import spark_submit

    data = synth.generate(150, 1500, seed=21)
    watch = data.watchlist.rename(columns={"person_ref": "unique_id"})
    watch.to_parquet(tmp_path / "watch.parquet", index=False)
    data.partner.to_parquet(tmp_path / "partner.parquet", index=False)  # record_id, as imported
    # Run outside spark-submit, the environment names the master the command line would.
    monkeypatch.setenv("SHAREGUARD_SPARK_MASTER", "local[2]")
    argv = ["--watchlist", str(tmp_path / "watch.parquet"), "--partner"]
    argv += [str(tmp_path / "partner.parquet"), "--out", str(tmp_path / "spark.parquet")]
    assert spark_submit.main([*argv, "--threshold", "0.9", "--match-threshold", "0.95"]) == 0
    on_spark = pd.read_parquet(tmp_path / "spark.parquet")
    assert list(on_spark.columns) == list(engine.PAIR_COLUMNS)
    assert (tmp_path / "spark.parquet.model.json").exists()
    streamed = engine.link_out_of_core(
        watch,
        tmp_path / "partner.parquet",
        tmp_path / "duckdb.parquet",
        threshold=0.9,
        match_threshold=0.95,
        work_dir=tmp_path,
    )
    on_duckdb = pd.read_parquet(streamed.path)
    key = ["watchlist_id", "partner_id"]
    assert set(map(tuple, on_spark[key].to_numpy())) == set(map(tuple, on_duckdb[key].to_numpy()))
    both = on_spark.merge(on_duckdb, on=key)
    assert (both["band_x"] == both["band_y"]).mean() > 0.99

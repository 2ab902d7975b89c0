"""DuckDB out of core: the partner file read in place, pairs streamed to Parquet, the same
pairs and probabilities as the in-memory path, and a run past its memory limit spilling to
disk and completing (~30 s on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shareguard.config import Settings
from shareguard.matching import engine, synth
from shareguard.matching.pairs import _best_per_person

THRESHOLD, MATCH = 0.5, 0.9


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path, pd.DataFrame]:
    """A labelled watch list and partner file (on disk, as an import leaves it)."""
    made = synth.generate(500, 10_000, seed=21)
    folder = tmp_path_factory.mktemp("partner")
    partner = folder / "partner.parquet"
    made.partner.to_parquet(partner, index=False)  # record_id, as an imported dataset
    return made.watchlist.rename(columns={"person_ref": "unique_id"}), partner, made.truth


@pytest.fixture(scope="module")
def in_memory(data: tuple[pd.DataFrame, Path, pd.DataFrame]) -> pd.DataFrame:
    """Today's path: link frames in memory, then each person and record's best name."""
    watch, partner, _ = data
    frame = pd.read_parquet(partner).rename(columns={"record_id": "unique_id"})
    pairs = _best_per_person(engine.link(watch, frame, threshold=THRESHOLD).pairs)
    pairs["band"] = ["match" if p >= MATCH else "possible" for p in pairs["match_probability"]]
    return pairs[list(engine.PAIR_COLUMNS)]


def _streamed(data: tuple[pd.DataFrame, Path, pd.DataFrame], tmp: Path, **kw: object) -> tuple:
    watch, partner, _ = data
    result = engine.link_out_of_core(
        watch,
        partner,
        tmp / "matches.parquet",
        threshold=THRESHOLD,
        match_threshold=MATCH,
        work_dir=tmp / "work",
        **kw,  # type: ignore[arg-type]
    )
    return result, pd.read_parquet(result.path)


def test_streaming_gives_the_same_pairs_and_probabilities(
    data: tuple[pd.DataFrame, Path, pd.DataFrame], in_memory: pd.DataFrame, tmp_path: Path
) -> None:
    result, streamed = _streamed(data, tmp_path)
    truth = set(zip(data[2]["watchlist_id"], data[2]["partner_id"], strict=True))
    found = set(zip(streamed["watchlist_id"], streamed["partner_id"], strict=True))
    assert len(found & truth) >= 0.9 * len(truth)  # a real linkage, not an empty agreement
    # Same pairs, same order, same probabilities, weights, bands and explanations.
    pd.testing.assert_frame_equal(streamed, in_memory.reset_index(drop=True))
    assert result.rows == len(streamed)
    # Nothing of the run's working files is left behind.
    assert not any((tmp_path / "work").iterdir())
    assert [p.name for p in tmp_path.glob("matches.parquet*")] == ["matches.parquet"]


def test_a_run_over_its_memory_limit_spills_and_completes(
    data: tuple[pd.DataFrame, Path, pd.DataFrame], in_memory: pd.DataFrame, tmp_path: Path
) -> None:
    # 56 MB on one thread is below what training holds (u is estimated on 10^6 sampled
    # pairs): DuckDB writes the rest to its temporary directory instead of failing. (With the
    # middle-name columns carried through training, 40 and 48 MB fail: under what DuckDB
    # needs to pin its blocks at all. 40 MB was enough before them.)
    result, streamed = _streamed(data, tmp_path, memory_limit="56MB", threads=1)
    assert result.stats["spill_peak_bytes"] > 56 * 2**20
    pd.testing.assert_frame_equal(streamed, in_memory.reset_index(drop=True))


def test_with_room_it_does_not_spill(
    data: tuple[pd.DataFrame, Path, pd.DataFrame], tmp_path: Path
) -> None:
    result, _ = _streamed(data, tmp_path, memory_limit="2GB")
    assert result.stats["spill_peak_bytes"] == 0


def test_the_memory_limit_setting_must_be_a_size() -> None:
    assert Settings(match_memory_limit="512MB").match_memory_limit == "512MB"
    with pytest.raises(ValueError, match="SHAREGUARD_MATCH_MEMORY_LIMIT"):
        Settings(match_memory_limit="lots")


def test_competing_candidates_weigh_the_same_in_sql() -> None:
    import duckdb

    # Person p1 (two names) has two look-alike records; record r3 is claimed by two persons;
    # p4 is alone; sides come in either order, as Splink orders them.
    scored = pd.DataFrame(
        {
            "unique_id_l": ["p1~0", "p1~1", "r2", "p3~0", "p5~0", "p4~0"],
            "unique_id_r": ["r1", "r1", "p1~0", "r3", "r3", "r4"],
            "source_dataset_l": ["watchlist", "watchlist", "partner"] + ["watchlist"] * 3,
            "match_weight": [12.0, 9.5, 11.0, 6.0, 4.0, 20.0],
        }
    )
    scored["match_probability"] = 1 / (1 + 2.0 ** -scored["match_weight"])
    expected = engine.weigh_competitors(scored)
    con = duckdb.connect()
    con.register("pred", scored)
    con.execute(engine._COMPETITION_SQL.format(pred="pred"))
    got = con.sql(
        "SELECT unique_id_l, unique_id_r, mw_competition, match_weight, match_probability"
        " FROM sg_scored"
    ).df()
    both = expected.merge(got, on=["unique_id_l", "unique_id_r"], suffixes=("", "_sql"))
    assert len(both) == len(scored)
    assert (both["mw_competition"] < 0).sum() == 5 and both["mw_competition"].iloc[-1] == 0
    for col in ("mw_competition", "match_weight", "match_probability"):
        assert (both[col] - both[f"{col}_sql"]).abs().max() < 1e-12, col

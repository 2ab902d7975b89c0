"""Middle names, where files hold them: agreement counts for a match, a missing one counts for
nothing, and a file without them links exactly as before (~30 s on 2 cores)."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pandas as pd
import pytest

from shareguard.matching import engine, splink_settings, synth
from shareguard.matching.prepare import prepare
from shareguard.matching.runs import _watch_frame


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    made = synth.generate(300, 3000, seed=11)
    return (
        made.watchlist.rename(columns={"person_ref": "unique_id"}),
        made.partner.rename(columns={"record_id": "unique_id"}),
        made.truth,
    )


@pytest.fixture(scope="module")
def trained(data: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> dict:
    watch, partner, _ = data
    return engine.link(watch, partner, threshold=0.5, max_pairs_u=2e5).trained_model


def _steps(pairs: pd.DataFrame, w: str, p: str) -> tuple[float, dict[str, dict]]:
    row = pairs[(pairs["watchlist_id"] == w) & (pairs["partner_id"] == p)].iloc[0]
    return float(row["match_weight"]), {
        s["comparison"]: s for s in json.loads(str(row["explanation"]))
    }


def _true_pairs_by_middle(data: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """True pairs with each side's middle names as the model sees them (``prepare``)."""
    watch, partner, truth = data
    both = truth.merge(prepare(watch), left_on="watchlist_id", right_on="unique_id").merge(
        prepare(partner), left_on="partner_id", right_on="unique_id", suffixes=("_w", "_p")
    )
    both["same"] = both["middle_names_w"] == both["middle_names_p"]
    return both


def test_the_model_compares_middle_names_when_both_inputs_hold_some(trained: dict) -> None:
    assert splink_settings.uses_middle_names(trained)
    [comp] = [c for c in trained["comparisons"] if c["output_column_name"] == "middle_names"]
    weights = {
        lvl.get("label_for_charts"): lvl["m_probability"] / lvl["u_probability"]
        for lvl in comp["comparison_levels"]
        if not lvl.get("is_null_level")
    }
    # Agreeing is evidence for, disagreeing evidence against.
    assert weights["Exact match on middle_names"] > 1 > weights["All other comparisons"]


def test_agreeing_middle_names_raise_a_true_pairs_probability(
    data: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], trained: dict
) -> None:
    watch, partner, _ = data
    agreeing = _true_pairs_by_middle(data)
    row = agreeing[agreeing["same"] & agreeing["middle_names_p"].notna()].iloc[0]
    w, p = row["watchlist_id"], row["partner_id"]
    blanked = partner.copy()
    blanked.loc[blanked["unique_id"] == p, "middle_names"] = None
    with_middle = engine.link(watch, partner, threshold=0.01, model=trained).pairs
    without = engine.link(watch, blanked, threshold=0.01, model=trained).pairs
    weight, steps = _steps(with_middle, w, p)
    weight_blank, steps_blank = _steps(without, w, p)
    assert steps["middle_names"]["match_weight"] > 0
    assert weight > weight_blank
    prob = with_middle.set_index(["watchlist_id", "partner_id"])["match_probability"]
    prob_blank = without.set_index(["watchlist_id", "partner_id"])["match_probability"]
    assert prob[(w, p)] >= prob_blank[(w, p)]
    # Missing on one side: the step is there and weighs nothing.
    assert steps_blank["middle_names"] == {
        "comparison": "middle_names",
        "level": "missing on one side",
        "match_weight": 0.0,
    }


def test_a_missing_middle_name_weighs_nothing(
    data: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], trained: dict
) -> None:
    watch, partner, _ = data
    pairs = engine.link(watch, partner, threshold=0.5, model=trained).pairs
    missing = 0
    for explanation in pairs["explanation"]:
        [step] = [s for s in json.loads(explanation) if s["comparison"] == "middle_names"]
        if step["level"] == "missing on one side":
            missing += 1
            assert step["match_weight"] == 0.0
    assert missing > 0


def test_a_file_without_middle_names_links_as_before(
    data: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    watch, partner, truth = data
    # One given name in each forename field (a field with several holds middle names too).
    watch = watch.assign(first_name=watch["first_name"].str.split().str[0])
    partner = partner.assign(first_name=partner["first_name"].str.split().str[0])
    no_column = engine.link(
        watch.drop(columns="middle_names"),
        partner.drop(columns="middle_names"),
        threshold=0.5,
        max_pairs_u=2e5,
    )
    empty = engine.link(watch, partner.assign(middle_names=None), threshold=0.5, max_pairs_u=2e5)
    # Neither compares them (nothing to train on), and both give the same pairs.
    assert not splink_settings.uses_middle_names(no_column.trained_model)
    assert not splink_settings.uses_middle_names(empty.trained_model)
    pd.testing.assert_frame_equal(no_column.pairs, empty.pairs)
    found = set(zip(no_column.pairs["watchlist_id"], no_column.pairs["partner_id"], strict=True))
    true = set(zip(truth["watchlist_id"], truth["partner_id"], strict=True))
    assert len(found & true) >= 0.9 * len(true)


def test_the_watch_list_takes_middle_names_from_the_registers_given_names() -> None:
    pid = uuid.uuid4()
    frame = _watch_frame(
        {pid: (date(1980, 1, 2), "SW1A 1AA", [("Anna Maria Louise", "Smith"), ("Ann", "Smith")])},
        [pid],
    )
    assert list(frame["first_name"]) == ["Anna", "Ann"]
    assert list(frame["middle_names"]) == ["Maria Louise", None]
    assert list(frame["unique_id"]) == [f"{pid}~0", f"{pid}~1"]

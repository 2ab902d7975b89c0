"""The model's cheap one-edit test says what Damerau–Levenshtein says; competing candidates."""

from __future__ import annotations

import json
import math

import duckdb
import pandas as pd
import pytest

from shareguard.matching import engine, splink_settings

PAIRS = [
    ("ahmed", "ahmed"),  # same
    ("ahmed", "ahmad"),  # one letter changed
    ("ahmed", "ahemd"),  # two letters transposed
    ("ahmed", "ahmd"),  # one letter out
    ("ahmed", "ahmeed"),  # one letter in
    ("ahmed", "hamed"),  # transposed at the start
    ("ahmed", "amhde"),  # two transpositions
    ("ahmed", "axmex"),  # two letters changed
    ("ahmed", "hmedx"),  # shifted: Hamming 5, Levenshtein 2
    ("ahmed", "ah"),  # lengths far apart
    ("1985-03-07", "1985-03-01"),  # a day digit slipped
    ("1985-03-07", "1958-03-07"),  # year digits transposed
    ("1985-03-07", "1985-07-03"),  # day and month swapped: not one edit
    ("ahmed", None),
]


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_one_edit_agrees_with_damerau_levenshtein(backend: str) -> None:
    frame = pd.DataFrame(PAIRS, columns=["x_l", "x_r"])
    con = duckdb.connect()
    con.register("pairs", frame)
    condition = splink_settings._dl1("x", backend=backend)
    got = con.execute(f"select case when {condition} then 1 else 0 end from pairs").fetchall()
    want = con.execute(
        "select case when damerau_levenshtein(x_l, x_r) <= 1 then 1 else 0 end from pairs"
    ).fetchall()
    assert got == want
    assert [g[0] for g in got][:6] == [1, 1, 1, 1, 1, 1]


def scored(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_dataset_l": [engine.WATCHLIST] * len(rows),
            "unique_id_l": [w for w, _, _ in rows],
            "unique_id_r": [p for _, p, _ in rows],
            "match_weight": [mw for _, _, mw in rows],
            "match_probability": [1 / (1 + 2**-mw) for _, _, mw in rows],
        }
    )


def test_a_lone_candidate_keeps_its_probability() -> None:
    out = engine.weigh_competitors(scored([("W1", "P1", 6.0), ("W2", "P2", 3.0)]))
    assert out["mw_competition"].tolist() == [0.0, 0.0]
    assert out["match_weight"].tolist() == [6.0, 3.0]


def test_two_look_alikes_for_one_person_both_fall_towards_review() -> None:
    out = engine.weigh_competitors(scored([("W1", "P1", 6.0), ("W1", "P2", 6.0)]))
    # Each is one of two equally good candidates: odds 64 / (1 + 64 + 64).
    assert out["match_probability"].tolist() == pytest.approx([64 / 129, 64 / 129])
    assert (out["mw_competition"] < 0).all()


def test_a_weak_rival_barely_moves_a_strong_candidate() -> None:
    out = engine.weigh_competitors(scored([("W1", "P1", 12.0), ("W2", "P1", -2.0)]))
    assert out["match_probability"][0] > 0.999
    assert out["match_probability"][1] < 0.001


def test_a_persons_own_names_are_not_rivals() -> None:
    out = engine.weigh_competitors(scored([("W1~0", "P1", 6.0), ("W1~1", "P1", 4.0)]))
    assert out["mw_competition"].tolist() == [0.0, 0.0]
    assert math.isclose(out["match_weight"][0], 6.0)


def test_a_nearer_level_never_weighs_less_than_a_farther_one() -> None:
    # Postcode unit, sector, district, area, other, as EM left them on 100k x 1M.
    trained = [19.67, -40.31, -29.21, -2.98, -2.6]
    step = splink_settings.ORDER_STEP
    assert splink_settings.monotone_weights(trained) == pytest.approx(
        [19.67, -2.6 + 3 * step, -2.6 + 2 * step, -2.6 + step, -2.6]
    )
    # Weights already ordered are left as they are.
    assert splink_settings.monotone_weights([14.5, 5.8, -3.0, -9.0]) == [14.5, 5.8, -3.0, -9.0]
    assert splink_settings.monotone_weights([]) == []


def test_a_level_never_met_among_matches_keeps_an_m_of_one_over_the_matches_expected() -> None:
    # 100k x 1M at a prior of 3e-7: ~30,000 matches expected; an unseen level is ~1/30,000.
    assert splink_settings.unseen_m_floor(3e-7, 1e11) == pytest.approx(1 / 30_002)
    # The more matches expected, the lower; with none expected it says little.
    assert splink_settings.unseen_m_floor(3e-7, 1e12) < splink_settings.unseen_m_floor(3e-7, 1e11)
    assert splink_settings.unseen_m_floor(0.0, 1e6) == 0.5


def test_levels_raised_to_a_farther_one_are_still_named_apart_in_explanations() -> None:
    # An explanation names a level by its weight: levels raised to a farther one's weight must
    # not share it, or a pair from another area would be explained as "same sector".
    labels = ["unit", "sector", "district", "area", "other"]
    weights = splink_settings.monotone_weights([19.67, -40.31, -29.21, -2.98, -2.6])
    u = [1e-6, 3.5e-5, 3.2e-4, 0.0138, 0.986]
    trained = {
        "probability_two_random_records_match": 3e-7,
        "comparisons": [
            {
                "output_column_name": "postcode",
                "comparison_levels": [
                    {"sql_condition": "postcode_l is null", "is_null_level": True},
                    *(
                        {
                            "sql_condition": label,
                            "label_for_charts": label,
                            "m_probability": uu * 2.0**w,
                            "u_probability": uu,
                        }
                        for label, w, uu in zip(labels, weights, u, strict=True)
                    ),
                ],
            }
        ],
    }
    scored = pd.DataFrame(
        {"mw_postcode": [math.log2(uu * 2.0**w / uu) for w, uu in zip(weights, u, strict=True)]}
    )
    named = [
        next(s["level"] for s in json.loads(e) if s["comparison"] == "postcode")
        for e in engine.explain(scored, trained)
    ]
    assert named == labels

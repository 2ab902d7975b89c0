"""Term frequencies come from the partner file being matched: each name's, and each name
pair's rate over what its names apart predict (leave-one-out, one pseudo-namesake)."""

from __future__ import annotations

import json
import math

import duckdb
import pandas as pd
import pytest

from shareguard.matching import engine, splink_settings, synth

PARTNER = [
    ("anna", "smith"),
    ("anna", "smith"),
    ("anna", "smith"),
    ("anna", "jones"),
    ("bob", "smith"),
    ("bob", None),
]


def lookup(sql: str) -> dict[str, float]:
    con = duckdb.connect()
    frame = pd.DataFrame(PARTNER, columns=["first_name", "surname"])
    frame["postcode"] = None
    frame["full_name"] = (frame["first_name"] + " " + frame["surname"]).where(
        frame["surname"].notna()
    )
    con.register("partner", frame)
    return {str(k): float(v) for k, v in con.execute(sql).fetchall()}


def test_each_name_by_its_share_of_the_partner_file() -> None:
    sql = splink_settings.term_frequency_sql("partner")
    assert lookup(sql["first_name"]) == pytest.approx({"anna": 4 / 6, "bob": 2 / 6})
    assert lookup(sql["surname"]) == pytest.approx({"smith": 4 / 5, "jones": 1 / 5})


def test_a_pair_by_namesakes_seen_over_namesakes_expected() -> None:
    ratio = lookup(splink_settings.term_frequency_sql("partner")["full_name"])
    # anna smith: 2 other records (leave-one-out) where 3 annas x 4/5 smiths predict 2.4.
    assert ratio["anna smith"] == pytest.approx((1 + 2) / (1 + 3 * 4 / 5))
    # anna jones is in the candidate alone: fewer namesakes than its names predict, so the
    # pair counts for more than the names apart (its weight correction, -log2, is positive).
    assert ratio["anna jones"] == pytest.approx(1 / (1 + 3 * 1 / 5))
    assert -math.log2(ratio["anna jones"]) > 0 > -math.log2(ratio["bob smith"] + 0.5)


def test_a_link_weighs_names_by_the_partner_file_not_the_watch_list() -> None:
    data = synth.generate(200, 2000, seed=5)
    watch = data.watchlist.rename(columns={"person_ref": "unique_id"})
    # 400 Zebedees on the watch list, one in the partner file: counted over both inputs
    # "zebedee" would be common; the partner file holds one, so it is a rare name there.
    extra = pd.DataFrame(
        {
            "unique_id": [f"WZ{i:03d}" for i in range(400)],
            "first_name": "Zebedee",
            "surname": [f"Surname{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(400)],
            "date_of_birth": [f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}" for i in range(400)],
            "postcode": None,
        }
    )
    extra.loc[0, ["surname", "date_of_birth"]] = ["Quist", "1971-04-02"]
    partner = data.partner.rename(columns={"record_id": "unique_id"})
    partner = pd.concat(
        [
            partner,
            pd.DataFrame(
                [("PZ", "Zebedee", "Quist", "1971-04-02", None)],
                columns=partner.columns.drop("middle_names"),
            ),
        ]
    )
    result = engine.link(pd.concat([watch, extra]), partner, threshold=0.01, max_pairs_u=2e5)
    pair = result.pairs.set_index(["watchlist_id", "partner_id"]).loc[("WZ000", "PZ")]
    steps = {s["comparison"]: s for s in json.loads(pair["explanation"])}
    first = next(
        c for c in result.trained_model["comparisons"] if c["output_column_name"] == "first_name"
    )
    m = next(
        lvl["m_probability"]
        for lvl in first["comparison_levels"]
        if lvl.get("tf_adjustment_column")
    )
    share = 1 / int(partner["first_name"].notna().sum())  # one zebedee in the partner file
    assert steps["first_name"]["match_weight"] == pytest.approx(math.log2(m / share), abs=1e-3)
    # Seen once, with its forename seen once: namesakes as expected (none), no correction.
    assert "name_pair" not in steps
    # Where the correction moved a pair's weight, the explanation says what it is.
    corrected = [
        step
        for text in result.pairs["explanation"]
        for step in json.loads(text)
        if step["comparison"] == "name_pair"
    ]
    assert corrected
    assert {step["level"] for step in corrected} == {
        "both names exact: how common the pair is in the partner file"
    }

"""Households: surname and postcode together are corrected by how often records at one postcode
share a surname in the partner file (a relative at the person's address is no coincidence)."""

from __future__ import annotations

import json
import math

import duckdb
import pandas as pd
import pytest

from shareguard.matching import engine, splink_settings, synth
from shareguard.matching.prepare import normalise_name, normalise_postcode


def counted(rows: list[tuple[str | None, str | None]]) -> tuple[float, float, float]:
    con = duckdb.connect()
    con.register("partner", pd.DataFrame(rows, columns=["surname", "postcode"]))
    [row] = con.execute(splink_settings.household_sql("partner")).fetchall()
    return tuple(float(x) for x in row)  # type: ignore[return-value]


def test_pairs_at_one_postcode_and_those_sharing_a_surname_are_counted() -> None:
    rows = [
        ("kemp", "AB1 2CD"),
        ("kemp", "AB1 2CD"),
        ("shah", "AB1 2CD"),
        ("okafor", "N7 8RJ"),
        ("kemp", None),  # no postcode: not counted
        (None, "N7 8RJ"),  # no surname: not counted
    ]
    at_postcode, sharing, chance = counted(rows)
    assert at_postcode == 3  # the three at AB1 2CD
    assert sharing == 1  # the two Kemps
    assert chance == pytest.approx((2 / 4) ** 2 + (1 / 4) ** 2 + (1 / 4) ** 2)


def test_a_file_of_households_weakens_surname_and_postcode_together() -> None:
    # 1,000 pairs at one postcode, 300 of them sharing a surname, where two records taken at
    # random share one 1 time in 1,000: sharing both is ~300x likelier than chance says.
    weight = splink_settings.household_weight(1000, 300, 0.001)
    h = (300 + 100 * 0.001) / (1000 + 100)
    assert weight == pytest.approx(-math.log2(h / 0.001))
    assert weight < -7


def test_no_households_or_too_few_pairs_leave_pairs_as_they_were() -> None:
    assert splink_settings.household_weight(1000, 1, 0.001) == 0.0  # as chance says
    assert splink_settings.household_weight(0, 0, 0.001) == 0.0  # nobody shares a postcode
    assert splink_settings.household_weight(0, 0, 0.0) == 0.0
    # Two records at one postcode that share a surname say little: shrunk towards chance.
    assert -1.0 < splink_settings.household_weight(1, 1, 0.01) < 0.0


def test_a_relative_at_the_persons_address_carries_the_household_step() -> None:
    data = synth.generate(200, 2000, seed=5)
    watch = data.watchlist.rename(columns={"person_ref": "unique_id"})
    partner = data.partner.rename(columns={"record_id": "unique_id"})
    # Families in the partner file: three people of one surname at each of 40 addresses.
    families = pd.DataFrame(
        [
            (
                f"PF{i:02d}{j}",
                f"Given{j}{chr(97 + i % 26)}",
                f"Family{chr(97 + i // 26)}{chr(97 + i % 26)}",
                f"19{50 + j * 10 + i % 9}-0{1 + j}-1{i % 10}",
                f"ZZ{i + 1} 1AA",
            )
            for i in range(40)
            for j in range(3)
        ],
        columns=partner.columns.drop("middle_names"),
    )
    person = pd.DataFrame(
        [("WH", "Joseph", "Clogherty", "1978-05-02", "ZZ99 9ZZ")],
        columns=watch.columns.drop("middle_names"),
    )
    relatives = pd.DataFrame(
        [
            ("PH1", "Joseph", "Clogherty", "1943-11-20", "ZZ99 9ZZ"),  # his father
            ("PH2", "Josef", "Clogherty", "1978-05-02", "ZZ99 9ZZ"),  # himself, misspelt
        ],
        columns=partner.columns.drop("middle_names"),
    )
    result = engine.link(
        pd.concat([watch, person]),
        pd.concat([partner, families, relatives]),
        threshold=0.0,
        max_pairs_u=2e5,
    )
    household = next(
        c for c in result.trained_model["comparisons"] if c["output_column_name"] == "household"
    )
    both = next(
        lvl
        for lvl in household["comparison_levels"]
        if lvl.get("label_for_charts", "").startswith("same surname")
    )
    weight = math.log2(both["m_probability"] / both["u_probability"])
    assert weight < -3  # the file holds households: sharing both is no coincidence
    pairs = result.pairs.set_index(["watchlist_id", "partner_id"])
    for record in ("PH1", "PH2"):
        steps = {s["comparison"]: s for s in json.loads(pairs.loc[("WH", record), "explanation"])}
        assert steps["household"]["match_weight"] == pytest.approx(weight, abs=1e-3)
        assert steps["household"]["level"].startswith("same surname at the same postcode")
    assert pairs.loc[("WH", "PH1"), "match_probability"] < 0.5  # the father is not a match
    assert pairs.loc[("WH", "PH2"), "match_probability"] >= 0.95  # the person still is
    # Only pairs that share both surname and postcode carry the step.
    w = pd.concat([watch, person]).set_index("unique_id")
    r = pd.concat([partner, families, relatives]).set_index("unique_id")
    for (watch_id, record), row in pairs.iterrows():
        a, b = w.loc[watch_id], r.loc[record]
        surnames = {normalise_name(a["surname"]), normalise_name(b["surname"])}
        postcodes = {normalise_postcode(a["postcode"]), normalise_postcode(b["postcode"])}
        shared = len(surnames) == 1 and len(postcodes) == 1 and None not in surnames | postcodes
        steps = [s["comparison"] for s in json.loads(row["explanation"])]
        assert ("household" in steps) == shared, (watch_id, record)

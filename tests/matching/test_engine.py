"""The Splink adapter on small labelled data: finds the planted matches, explains every pair."""

from __future__ import annotations

import json
import math
import re
from itertools import pairwise

import pandas as pd
import pytest

from shareguard.matching import engine, splink_settings, synth

#: Planted pairs the model must find despite the mess real data has.
PLANTED_WATCH = [
    ("WX1", "Mohammed", "Al-Sayed", "1985-03-07", "B12 9QT"),
    ("WX2", "Aleksandr", "Kuznetsov", "1979-11-02", "LS6 2AB"),
    ("WX3", "Grace", "Okafor", "1990-06-21", "N7 8RJ"),
]
PLANTED_PARTNER = [
    ("PX1", "Muhammad", "El-Sayed", "1985-07-03", "B12 9QT"),  # romanisation + day/month swap
    ("PX2", "Кузнецов", "Александр", "1979-11-02", "LS6 2AB"),  # Cyrillic, order swapped
    ("PX3", "Okafor", "Grace", "1990-06-21", None),  # order swapped, postcode missing
    ("PX4", "Grace", "Okafor", "1962-01-15", "TR1 1AA"),  # a namesake: not the same person
]


def frame(rows: list[tuple[str, str, str, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["unique_id", "first_name", "surname", "date_of_birth", "postcode"]
    )


@pytest.fixture(scope="module")
def linked() -> tuple[engine.LinkResult, synth.Labelled]:
    data = synth.generate(300, 3000, seed=11)
    watch = pd.concat(
        [data.watchlist.rename(columns={"person_ref": "unique_id"}), frame(PLANTED_WATCH)]
    )
    partner = pd.concat(
        [data.partner.rename(columns={"record_id": "unique_id"}), frame(PLANTED_PARTNER)]
    )
    stages: list[str] = []
    result = engine.link(
        watch, partner, threshold=0.01, progress=lambda s, _f: stages.append(s), max_pairs_u=2e5
    )
    assert stages[-1] == "done"
    return result, data


def pairs_at(result: engine.LinkResult, threshold: float) -> set[tuple[str, str]]:
    got = result.pairs[result.pairs["match_probability"] >= threshold]
    return set(zip(got["watchlist_id"], got["partner_id"], strict=True))


def test_finds_synthetic_matches_with_high_precision_and_recall(linked) -> None:  # type: ignore[no-untyped-def]
    result, data = linked
    truth = set(zip(data.truth["watchlist_id"], data.truth["partner_id"], strict=True))
    found = pairs_at(result, 0.95) - {p for p in pairs_at(result, 0.95) if p[0].startswith("WX")}
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert precision >= 0.97 and recall >= 0.93, (precision, recall)


def test_planted_variants_match_and_the_namesake_does_not(linked) -> None:  # type: ignore[no-untyped-def]
    result, _ = linked
    strong = pairs_at(result, 0.9)
    assert {("WX1", "PX1"), ("WX2", "PX2"), ("WX3", "PX3")} <= strong
    assert ("WX3", "PX4") not in strong


def test_every_pair_carries_its_waterfall(linked) -> None:  # type: ignore[no-untyped-def]
    result, _ = linked
    assert list(result.pairs.columns) == [
        "watchlist_id",
        "partner_id",
        "match_probability",
        "match_weight",
        "explanation",
    ]
    row = result.pairs.set_index(["watchlist_id", "partner_id"]).loc[("WX2", "PX2")]
    steps = json.loads(row["explanation"])
    assert [s["comparison"] for s in steps] == [
        "prior",
        "first_name",
        "middle_names",
        "surname",
        "dob",
        "postcode",
    ]
    assert "swapped" in steps[1]["level"] and steps[1]["match_weight"] > 0
    # The planted rows hold no middle names: missing on one side, weighing nothing.
    assert steps[2] == {
        "comparison": "middle_names",
        "level": "missing on one side",
        "match_weight": 0.0,
    }
    assert steps[4]["level"].startswith("Exact match")
    # The waterfall adds up to the pair's match weight.
    assert sum(s["match_weight"] for s in steps) == pytest.approx(row["match_weight"], abs=0.01)


def test_trained_parameters_come_back_with_the_result(linked) -> None:  # type: ignore[no-untyped-def]
    result, _ = linked
    model = result.trained_model
    assert {c["output_column_name"] for c in model["comparisons"]} == {
        "first_name",
        "middle_names",
        "surname",
        "name_pair",
        "dob",
        "postcode",
        "household",
    }
    levels = model["comparisons"][0]["comparison_levels"]
    assert any("m_probability" in lvl for lvl in levels)


def test_a_nearer_postcode_or_date_never_counts_more_against_than_a_farther_one(linked) -> None:  # type: ignore[no-untyped-def]
    # The synthetic generator moves a person to a random postcode, never within a sector, so
    # EM sees no match at "same sector" and would weigh it below "another area".
    result, _ = linked
    for comp in result.trained_model["comparisons"]:
        first = splink_settings.ORDERED_FROM.get(comp["output_column_name"])
        if first is None:
            continue
        labels = [lvl.get("label_for_charts") for lvl in comp["comparison_levels"]]
        chain = comp["comparison_levels"][labels.index(first) :]
        weights = [
            math.log2(lvl["m_probability"] / lvl["u_probability"])
            for lvl in chain
            if lvl.get("m_probability") and lvl.get("u_probability")
        ]
        assert len(weights) >= 2
        assert all(a > b for a, b in pairwise(weights)), weights


def test_unknown_backend_is_refused() -> None:
    from shareguard.errors import InvalidInput

    with pytest.raises(InvalidInput, match="backend"):
        engine.link(frame(PLANTED_WATCH), frame(PLANTED_PARTNER), backend="oracle")


def test_each_pair_is_explained_by_how_near_its_postcodes_are(linked) -> None:  # type: ignore[no-untyped-def]
    # Levels raised to just above a farther one keep weights of their own, so the explanation
    # still names the level (another area is not "same sector").
    result, data = linked
    watch = pd.concat(
        [data.watchlist.rename(columns={"person_ref": "unique_id"}), frame(PLANTED_WATCH)]
    )
    partner = pd.concat(
        [data.partner.rename(columns={"record_id": "unique_id"}), frame(PLANTED_PARTNER)]
    )
    postcode = {
        **dict(zip(watch["unique_id"], watch["postcode"], strict=True)),
        **dict(zip(partner["unique_id"], partner["postcode"], strict=True)),
    }

    def expected(a: str, b: str) -> str:
        if a == b:
            return "Exact match on postcode"
        for part, label in (
            (lambda p: p[:-2], "pc_sector"),
            (lambda p: p.split()[0], "pc_outward"),
        ):
            if part(a) == part(b):
                return f"Exact match on {label}"
        area = re.compile(r"^[A-Z]+")
        if area.match(a)[0] == area.match(b)[0]:  # type: ignore[index]
            return "Exact match on pc_area"
        return "All other comparisons"

    seen = set()
    for row in result.pairs.itertuples():
        a, b = postcode[row.watchlist_id], postcode[row.partner_id]
        if a is None or b is None or pd.isna(a) or pd.isna(b):
            continue
        [step] = [s for s in json.loads(row.explanation) if s["comparison"] == "postcode"]
        assert step["level"] == expected(a, b), (row.watchlist_id, row.partner_id, a, b)
        seen.add(step["level"])
    assert {"Exact match on postcode", "All other comparisons"} <= seen

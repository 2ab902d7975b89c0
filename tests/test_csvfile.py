"""CSV cells that a spreadsheet would run as formulas are escaped (OWASP), everywhere CSV
is written: the transparency register, reports, match results and import reports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from shareguard.csvfile import cell, dicts_to_csv, safe_frame
from shareguard.matching.pairs import write_outputs
from tests.factories import TestWorld

FORMULAS = ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_text_is_prefixed_with_a_quote(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "a=b", "", 5, -5, 0.25, None, "HO-DVLA-001"])
def test_other_values_are_left_alone(value: object) -> None:
    assert cell(value) == value


def test_dicts_round_trip_with_quotes_escaped() -> None:
    text = dicts_to_csv([{"a": '=1,"2"', "b": -3}], ["a", "b"])
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ['\'=1,"2"', "-3"]]


def test_the_transparency_register_escapes_titles(client: TestClient, world: TestWorld) -> None:
    world.agreement(title='=HYPERLINK("https://evil.example","click")')
    world.session.commit()
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/transparency.csv").text)))
    assert [r["title"] for r in rows] == ['\'=HYPERLINK("https://evil.example","click")']


def test_match_results_escape_partner_supplied_ids(tmp_path: Path) -> None:
    pairs = pd.DataFrame(
        {
            "watchlist_id": ["w1"],
            "partner_id": ["=cmd|' /C calc'!A0"],
            "match_probability": [0.99],
            "match_weight": [-1.5],
            "band": ["high"],
            "explanation": ["@attack"],
        }
    )
    write_outputs(tmp_path, pairs, {})
    [row] = list(csv.DictReader((tmp_path / "matches.csv").open()))
    assert row["partner_id"] == "'=cmd|' /C calc'!A0" and row["explanation"] == "'@attack"
    assert row["match_weight"] == "-1.5"
    # The Parquet file keeps the data exactly as it was.
    assert pd.read_parquet(tmp_path / "matches.parquet")["partner_id"][0].startswith("=cmd")


def test_safe_frame_escapes_column_names_too() -> None:
    frame = safe_frame(pd.DataFrame({"=x": ["-y"]}))
    assert list(frame.columns) == ["'=x"] and frame.iloc[0, 0] == "'-y"

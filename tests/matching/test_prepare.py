"""Normalisation and derived keys: names across scripts meet, dates and postcodes are graded."""

from __future__ import annotations

import pandas as pd
import pytest

from shareguard.matching.prepare import normalise_name, normalise_postcode, phonetic, prepare


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'Brien-Smith", "obriensmith"),
        ("  Zoë ", "zoe"),
        ("Мария", "mariia"),
        ("Yılmaz", "yilmaz"),
        ("", None),
        (None, None),
    ],
)
def test_names_are_transliterated_and_reduced_to_letters(
    raw: str | None, expected: str | None
) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [("mohammed", "muhammad"), ("hussein", "husain"), ("aleksandr", "aleksander")],
)
def test_romanisation_variants_share_a_phonetic_key(a: str, b: str) -> None:
    assert phonetic(a) == phonetic(b)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("sw1a1aa", "SW1A 1AA"), ("M1  1AE", "M1 1AE"), ("2615", "2615"), ("", None)],
)
def test_postcodes_are_normalised(raw: str, expected: str | None) -> None:
    assert normalise_postcode(raw) == expected


def test_prepare_derives_swapped_date_and_postcode_parts() -> None:
    frame = pd.DataFrame(
        {
            "unique_id": ["a", "b"],
            "first_name": ["Anna", "Bo"],
            "surname": ["Smith", "Li"],
            "date_of_birth": ["1990-03-04", "1990-04-30"],
            "postcode": ["SW1A 1AA", None],
        }
    )
    out = prepare(frame).set_index("unique_id")
    assert out.loc["a", "dob_swapped"] == "1990-04-03"
    assert out.loc["b", "dob_swapped"] is None  # day 30 cannot be a month
    assert (out.loc["a", "pc_outward"], out.loc["a", "pc_sector"], out.loc["a", "pc_area"]) == (
        "SW1A",
        "SW1A 1",
        "SW",
    )
    assert out.loc["b", "postcode"] is None


def test_prepare_copes_with_columns_that_are_all_missing() -> None:
    frame = pd.DataFrame(
        {
            "unique_id": ["a"],
            "first_name": ["Ann"],
            "surname": ["Lee"],
            "date_of_birth": [None],
            "postcode": [None],
        }
    )
    out = prepare(frame).iloc[0]
    assert out["dob"] is None and out["postcode"] is None and out["pc_area"] is None


def test_middle_names_are_normalised_each_and_keyed_by_the_first_and_its_initial() -> None:
    frame = pd.DataFrame(
        {
            "unique_id": ["a", "b", "c"],
            "first_name": ["Anna", "Ben", "Cy"],
            "middle_names": ["Zoë  Jean-Paul", "J.", None],
            "surname": ["Lee", "Ng", "Oz"],
            "date_of_birth": ["1980-01-01"] * 3,
            "postcode": [None] * 3,
        }
    )
    out = prepare(frame)
    assert list(out["middle_names"]) == ["zoe jeanpaul", "j", None]
    assert list(out["middle_first"]) == ["zoe", "j", None]
    assert list(out["middle_initial"]) == ["z", "j", None]
    # A frame without the column (a partner file without middle names) has them missing.
    assert prepare(frame.drop(columns="middle_names"))["middle_names"].isna().all()


def test_a_forename_field_with_several_given_names_is_read_as_the_register_reads_them() -> None:
    frame = pd.DataFrame(
        {
            "unique_id": ["a", "b"],
            "first_name": ["Anna Maria", "Anna"],
            "middle_names": [None, "Maria"],
            "surname": ["Lee", "Lee"],
            "date_of_birth": ["1980-01-01"] * 2,
            "postcode": [None] * 2,
        }
    )
    out = prepare(frame)
    # "Anna Maria" in one field and "Anna" with "Maria" in two are the same given names.
    assert list(out["first_name"]) == ["anna", "anna"]
    assert list(out["middle_names"]) == ["maria", "maria"]
    assert out["first_name_ph"].iloc[0] == out["first_name_ph"].iloc[1]

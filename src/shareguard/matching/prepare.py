"""Normalise linkage columns and derive the keys the model compares (pure: frames in, frames out).

Names may arrive in any script or spelling convention. They are transliterated to ASCII
(``unidecode``), lower-cased and stripped of spaces, hyphens and apostrophes, then given a
phonetic key (Metaphone) so that ``Mohammed``/``Muhammad`` or ``Aleksandr``/``Alexander``
meet. Dates of birth stay ISO strings, with a day/month-swapped twin for the US-style slip.
Postcodes get their outward code, sector and area for graded comparison. Middle names (the
given names after the first) are optional: each is normalised as a name, kept in order, and
the first and its initial are keyed apart (a file may hold only ``J`` or only the first). A
forename field holding several given names (``Anna Maria``, as a licence's "forenames" does)
is read as the register's given names are: the first is the forename, the rest come before
the middle names.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import jellyfish
import pandas as pd
from unidecode import unidecode

#: The columns a prepared frame carries into Splink, besides ``unique_id``.
PREPARED_COLUMNS = (
    "first_name",
    "surname",
    "first_name_ph",
    "surname_ph",
    "full_name",
    "middle_names",
    "middle_first",
    "middle_first_ph",
    "middle_initial",
    "dob",
    "dob_swapped",
    "dob_year",
    "dob_md",
    "postcode",
    "pc_outward",
    "pc_sector",
    "pc_area",
)

_NOT_LETTERS = re.compile(r"[^a-z]")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def normalise_name(value: object) -> str | None:
    """ASCII, lower case, letters only; None for blank."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = _NOT_LETTERS.sub("", unidecode(str(value)).lower())
    return text or None


def normalise_middle_names(value: object) -> str | None:
    """Each middle name as ``normalise_name``, space-separated in order; None for none."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    names = [n for n in (normalise_name(part) for part in str(value).split()) if n]
    return " ".join(names) or None


def _words(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return str(value).split()


def split_given(first: object, middle: object) -> tuple[str | None, str | None]:
    """(forename, middle names), normalised: the first given name, then the others in order.

    ``first`` may hold several given names (then the first is the forename and the rest are
    middle names, ahead of those in ``middle``); each name is ``normalise_name``'d.
    """
    names = [n for n in (normalise_name(w) for w in _words(first)) if n]
    more = (normalise_middle_names(middle) or "").split()
    if not names:
        return None, " ".join(more) or None
    return names[0], " ".join(names[1:] + more) or None


def phonetic(value: str | None) -> str | None:
    if not value:
        return None
    return jellyfish.metaphone(value) or None


def normalise_postcode(value: object) -> str | None:
    """``sw1a1aa`` -> ``SW1A 1AA``; other shapes (overseas codes) kept compact; None for blank."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    compact = re.sub(r"[^A-Z0-9]", "", str(value).upper())
    m = _POSTCODE.match(compact)
    return f"{m.group(1)} {m.group(2)}" if m else (compact or None)


def _swap_day_month(dob: str | None) -> str | None:
    if not dob or len(dob) != 10:
        return None
    year, month, day = dob[:4], dob[5:7], dob[8:10]
    if month == day or int(day) > 12:
        return None
    return f"{year}-{day}-{month}"


def _mapped(series: pd.Series, func: Callable[[object], object]) -> pd.Series:
    """Apply ``func`` once per distinct value: names repeat, so this is ~100x cheaper."""
    uniques = series.dropna().unique()
    table = {u: func(u) for u in uniques}
    return series.map(table)


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Derive the model's columns from ``unique_id, first_name, surname, date_of_birth, postcode``
    and, where the frame has it, ``middle_names`` (missing as a column or a value: None).

    ``date_of_birth`` must already be an ISO ``YYYY-MM-DD`` string (import validates it).
    """
    out = pd.DataFrame({"unique_id": frame["unique_id"].astype(str)})
    # Each distinct value once (names repeat): the forename field's first given name, the
    # others it holds, and the middle names, then the others ahead of the middle names.
    words = _mapped(frame["first_name"], lambda v: split_given(v, None))
    out["first_name"] = _mapped(words, lambda fm: fm[0])  # type: ignore[index]
    others = _mapped(words, lambda fm: fm[1]).astype("string")  # type: ignore[index]
    if "middle_names" in frame:
        middle = _mapped(frame["middle_names"], normalise_middle_names).astype("string")
    else:
        middle = pd.Series([None] * len(frame), index=frame.index, dtype="string")
    both = (others + " " + middle).where(others.notna() & middle.notna())
    middle = both.fillna(others).fillna(middle)
    out["surname"] = _mapped(frame["surname"], normalise_name)
    out["first_name_ph"] = _mapped(out["first_name"], phonetic)  # type: ignore[arg-type]
    out["surname_ph"] = _mapped(out["surname"], phonetic)  # type: ignore[arg-type]
    # Both names as one value: how common the pair is in the partner file (names travel
    # together, so "Mariam Hussain" is far commoner than "Mariam" and "Hussain" apart suggest).
    out["full_name"] = (out["first_name"] + " " + out["surname"]).where(
        out["first_name"].notna() & out["surname"].notna()
    )
    out["middle_names"] = middle
    out["middle_first"] = _mapped(middle, lambda m: str(m).split(" ")[0])
    out["middle_first_ph"] = _mapped(out["middle_first"], phonetic)  # type: ignore[arg-type]
    out["middle_initial"] = _mapped(middle, lambda m: str(m)[:1])
    dob = frame["date_of_birth"].astype("string").str.slice(0, 10)
    out["dob"] = dob.where(dob.str.len() == 10).astype(object)
    out["dob_swapped"] = _mapped(out["dob"], _swap_day_month)  # type: ignore[arg-type]
    # "string" dtype so that .str works even when every value is missing.
    dob_s = out["dob"].astype("string")
    out["dob_year"] = dob_s.str.slice(0, 4)
    out["dob_md"] = dob_s.str.slice(5, 10)
    postcode = _mapped(frame["postcode"], normalise_postcode).astype("string")
    out["postcode"] = postcode
    uk = postcode.str.contains(" ", regex=False).fillna(False).astype(bool)
    outward = postcode.str.split(" ").str[0].where(uk).astype("string")
    out["pc_outward"] = outward
    out["pc_sector"] = postcode.str.slice(0, -2).where(uk)
    out["pc_area"] = outward.str.extract(r"^([A-Z]+)", expand=False)
    for col in PREPARED_COLUMNS:
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out

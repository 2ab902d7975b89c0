"""Name normalisation and blocking keys (pure: strings and dates in, strings out).

Blocking keys let a check find its candidates with a few indexed look-ups instead of a scan:

* ``d:<dob>`` — the date of birth. A query also looks up its day/month swap and ±1 day, so a
  slip in the date still finds the person when the name is right.
* ``n:<code>|<code>:<year>`` — the metaphone codes of the first given name and the family name
  (sorted, so name order does not matter) with the birth year, so a wrong day or month with the
  right name and year still finds the person.
* ``doc:<number>`` — a normalised document number.

Metaphone over an ASCII transliteration puts Mohammed/Muhammad/Mohamed and
Aleksandr/Alexander/Александр under the same code.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from datetime import date, timedelta

import jellyfish
from unidecode import unidecode

_NON_ALPHA = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")
_DOC = re.compile(r"[^A-Z0-9]")


def normalise(name: str) -> str:
    """ASCII, lower case, letters and single spaces only ("José-María" → "jose maria")."""
    text = unidecode(name or "").lower().replace("-", " ").replace("'", "")
    return _SPACES.sub(" ", _NON_ALPHA.sub(" ", text)).strip()


def tokens(name: str) -> list[str]:
    return [t for t in normalise(name).split(" ") if t]


def phonetic(token: str) -> str:
    """Metaphone of one normalised token (empty for an empty token)."""
    if not token:
        return ""
    return jellyfish.metaphone(token) or token[:4].upper()


def normalise_document(number: str) -> str:
    return _DOC.sub("", (number or "").upper())


def name_key(given: str, family: str) -> str | None:
    """Order-free phonetic key of the first given name and the last family token."""
    g, f = tokens(given), tokens(family)
    if not g and not f:
        return None
    first = phonetic(g[0]) if g else ""
    last = phonetic(f[-1]) if f else ""
    a, b = sorted([first, last])
    return f"{a}|{b}"


def person_keys(
    names: Iterable[tuple[str, str]], date_of_birth: date, documents: Iterable[str] = ()
) -> set[str]:
    """Every blocking key to store for a person (names as (given, family) pairs)."""
    keys = {f"d:{date_of_birth.isoformat()}"}
    for given, family in names:
        k = name_key(given, family)
        if k:
            keys.add(f"n:{k}:{date_of_birth.year}")
    for number in documents:
        n = normalise_document(number)
        if n:
            keys.add(f"doc:{n}")
    return {k[:80] for k in keys}


def dob_variants(dob: date) -> list[date]:
    """The date itself, its day/month swap and the days either side: common slips."""
    out = [dob]
    if dob.day <= 12 and dob.day != dob.month:
        with contextlib.suppress(ValueError):
            out.append(dob.replace(month=dob.day, day=dob.month))
    out += [dob - timedelta(days=1), dob + timedelta(days=1)]
    return out


def query_keys(given: str, family: str, dob: date, document: str | None = None) -> list[str]:
    """Keys a check looks up to find its candidates (see the module docstring)."""
    keys = [f"d:{d.isoformat()}" for d in dob_variants(dob)]
    # Both the order given and the swapped one: a check may put the family name first.
    names = {(given, family), (family, given)}
    # A multi-part name: try each given token against the family name.
    for tok in tokens(given)[1:]:
        names.add((tok, family))
    for g, f in names:
        k = name_key(g, f)
        if k:
            keys += [f"n:{k}:{dob.year}"]
    if document:
        n = normalise_document(document)
        if n:
            keys.append(f"doc:{n}")
    return sorted({k[:80] for k in keys})

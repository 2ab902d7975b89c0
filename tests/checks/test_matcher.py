"""The attribute matcher: tolerant where people's names vary, strict where identities differ."""

from __future__ import annotations

from datetime import date

import pytest

from shareguard.checks.matcher import CONFIRM, Candidate, Query, decide, score

DOB = date(1990, 4, 12)
MOHAMMED = Candidate("m", [("Mohammed", "Al-Sayed")], DOB, ["AB1234567"], "EGY")
ALEKSANDR = Candidate("a", [("Aleksandr", "Ivanov"), ("Александр", "Иванов")], DOB)
ZHANG = Candidate("z", [("Wei", "Zhang")], DOB)
JOSE = Candidate("j", [("José María", "Núñez")], DOB)


@pytest.mark.parametrize(
    ("cand", "given", "family", "dob"),
    [
        (MOHAMMED, "Muhammad", "Alsayed", DOB),  # transliteration, joined particle
        (MOHAMMED, "Mohamed", "Al Sayed", DOB),
        (MOHAMMED, "Al-Sayed", "Mohammed", DOB),  # name order
        (MOHAMMED, "Mohammed", "Al-Sayed", date(1990, 12, 4)),  # day/month slip
        (MOHAMMED, "Mohammed", "Al-Sayyed", DOB),  # typo
        (ALEKSANDR, "Alexander", "Ivanov", DOB),
        (ALEKSANDR, "Александр", "Иванов", DOB),  # the original script
        (ZHANG, "Zhang", "Wei", DOB),
        (JOSE, "Jose Maria", "Nunez", DOB),  # diacritics
        (JOSE, "José", "Núñez", DOB),  # middle name left out
    ],
)
def test_variants_of_one_person_are_strong_matches(cand, given, family, dob) -> None:  # type: ignore[no-untyped-def]
    result = decide(Query(given, family, dob), [cand])
    assert result.kind == "unique", score(Query(given, family, dob), cand)


@pytest.mark.parametrize(
    ("cand", "given", "family", "dob", "extra"),
    [
        (MOHAMMED, "Mohammed", "Hassan", DOB, {}),  # another family
        (MOHAMMED, "Mohammed", "Al-Sayed", date(1991, 4, 12), {}),  # another year
        (MOHAMMED, "Mohammed", "Al-Sayed", DOB, {"document_number": "ZZ9999999"}),
        (ALEKSANDR, "Alexei", "Ivanov", DOB, {}),  # another given name
    ],
)
def test_different_identities_are_never_strong(cand, given, family, dob, extra) -> None:  # type: ignore[no-untyped-def]
    assert score(Query(given, family, dob, **extra), cand).score < CONFIRM


def test_two_close_candidates_are_ambiguous() -> None:
    twin = Candidate("m2", [("Muhammad", "Al-Sayed")], DOB)
    assert decide(Query("Mohammed", "Al-Sayed", DOB), [MOHAMMED, twin]).kind == "ambiguous"


def test_matching_document_lifts_a_weak_name() -> None:
    q = Query("Mohd", "Sayed", DOB, document_number="ab 123 4567")
    assert score(q, MOHAMMED).score > score(Query("Mohd", "Sayed", DOB), MOHAMMED).score


def test_no_candidate_is_none() -> None:
    assert decide(Query("Anna", "Kowalska", DOB), []).kind == "none"

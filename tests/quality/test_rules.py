"""Data-quality rules over plain records: each rule finds what it should and nothing else."""

from __future__ import annotations

from datetime import date

import pytest

from shareguard.quality.rules import Register, duplicate_findings, run_rules

ON = date(2026, 11, 23)


def person(pid: str = "p1", **kw: object) -> dict[str, object]:
    return {
        "id": pid,
        "date_of_birth": date(1980, 1, 1),
        "nationality": "JAM",
        "has_name": True,
        **kw,
    }


def status(rid: str = "s1", pid: str = "p1", **kw: object) -> dict[str, object]:
    return {
        "id": rid,
        "person_id": pid,
        "kind": "limited_leave",
        "valid_from": date(2020, 1, 1),
        "valid_to": date(2030, 1, 1),
        "may_work": True,
        "may_rent": True,
        "source": "caseworking",
        "evidence_ref": "EV-1",
        **kw,
    }


def decision(did: str = "d1", pid: str = "p1", **kw: object) -> dict[str, object]:
    return {
        "id": did,
        "person_id": pid,
        "type": "refusal",
        "decided_on": date(2025, 1, 1),
        "final": True,
        "appeal_state": "none",
        "source": "caseworking",
        "evidence_ref": "EV-2",
        **kw,
    }


CASES = [
    # (description, register kwargs, expected [(rule, record_id)])
    (
        "clean register",
        {"persons": [person()], "status_records": [status()], "decisions": [decision()]},
        [],
    ),
    ("no name", {"persons": [person(has_name=False)]}, [("missing_fields", "p1")]),
    (
        "no evidence",
        {"persons": [person()], "status_records": [status(evidence_ref="")]},
        [("missing_fields", "s1")],
    ),
    (
        "superseded record ignored",
        {"persons": [person()], "status_records": [status(evidence_ref="", superseded=True)]},
        [],
    ),
    (
        "born in the future",
        {"persons": [person(date_of_birth=date(2027, 1, 1))]},
        [("implausible_dates", "p1")],
    ),
    (
        "born before 1900",
        {"persons": [person(date_of_birth=date(1850, 1, 1))]},
        [("implausible_dates", "p1")],
    ),
    (
        "leave ends before it starts",
        {"persons": [person()], "status_records": [status(valid_to=date(2019, 1, 1))]},
        [("implausible_dates", "s1")],
    ),
    (
        "decision before birth",
        {"persons": [person()], "decisions": [decision(decided_on=date(1970, 1, 1))]},
        [("implausible_dates", "d1")],
    ),
    (
        "no leave with public funds",
        {
            "persons": [person()],
            "status_records": [status(kind="no_leave", valid_to=None, public_funds=True)],
        },
        [("contradictory_fields", "s1")],
    ),
    (
        "no leave with the default flags",
        {"persons": [person()], "status_records": [status(kind="no_leave", valid_to=None)]},
        [],
    ),
    (
        "final with appeal pending",
        {"persons": [person()], "decisions": [decision(appeal_state="pending")]},
        [("contradictory_fields", "d1")],
    ),
    (
        "two current records of different kinds overlap",
        {
            "persons": [person()],
            "status_records": [
                status(),
                status("s2", kind="settled", valid_from=date(2024, 1, 1), valid_to=None),
            ],
        },
        [("conflicting_status_records", "s2")],
    ),
    (
        "consecutive records do not conflict",
        {
            "persons": [person()],
            "status_records": [
                status(valid_to=date(2023, 12, 31)),
                status("s2", kind="settled", valid_from=date(2024, 1, 1), valid_to=None),
            ],
        },
        [],
    ),
]


@pytest.mark.parametrize(("desc", "reg", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rules(desc: str, reg: dict, expected: list[tuple[str, str]]) -> None:
    found = run_rules(Register(on=ON, **reg))
    assert sorted((f.rule, f.record_id) for f in found) == sorted(expected)


@pytest.mark.parametrize(
    ("dec", "statuses", "flagged"),
    [
        (decision(), [], False),
        (decision(superseded=True), [], True),
        (decision(overturned=True), [], True),
        (decision(final=False), [], True),
        (decision(appeal_state="lodged"), [], True),
        (decision(), [status(kind="settled", valid_to=None)], True),
        (decision(), [status(kind="no_leave", may_work=False, may_rent=False)], False),
    ],
)
def test_watch_list_entry_whose_basis_changed_is_flagged(
    dec: dict, statuses: list, flagged: bool
) -> None:
    reg = Register(
        on=ON,
        decisions=[dec],
        status_records=statuses,
        watch_list=[{"id": "w1", "person_id": "p1", "decision_id": "d1", "active": True}],
    )
    found = [f for f in run_rules(reg, ["watch_list_basis_changed"])]
    assert [f.record_id for f in found] == (["w1"] if flagged else [])


def test_findings_carry_no_values() -> None:
    reg = Register(on=ON, persons=[person(date_of_birth=date(2030, 5, 17))])
    for f in run_rules(reg):
        assert "2030" not in f.message


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown rule"):
        run_rules(Register(), ["nope"])


def test_duplicate_pairs_become_one_finding_each() -> None:
    found = duplicate_findings([("b", "a", 0.995), ("c", "d", 0.9)])
    assert [(f.record_id, f.severity) for f in found] == [("b", "high"), ("d", "medium")]

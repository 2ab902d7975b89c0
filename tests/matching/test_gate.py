"""The watch-list gate as a pure function, and the review rule for adverse actions."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from types import SimpleNamespace

import pytest

from shareguard.matching import confirmed
from shareguard.matching.watchlist import GateFacts, gate

ON = date(2026, 6, 1)
ALICE, BOB = uuid.uuid4(), uuid.uuid4()
PASSES = GateFacts(
    has_name=True,
    date_of_birth=date(1980, 1, 1),
    decision_type="refusal",
    decision_final=True,
    decision_overturned=False,
    decision_superseded=False,
    decision_date=date(2025, 1, 1),
    appeal_window_end=date(2025, 2, 1),
    appeal_state="none",
    current_status_kind=None,
    proposed_by=ALICE,
    verified_by=BOB,
)


def test_a_complete_verified_final_refusal_passes() -> None:
    assert gate(PASSES, ON) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"appeal_state": "pending"}, "appeal_open"),
        ({"appeal_state": "lodged"}, "appeal_open"),
        ({"appeal_window_end": date(2026, 6, 1)}, "appeal_window_open"),
        ({"appeal_window_end": None}, "appeal_window_open"),
        ({"decision_final": False}, "decision_not_final"),
        ({"decision_overturned": True}, "decision_overturned"),
        ({"decision_superseded": True}, "decision_superseded"),
        ({"decision_type": "grant"}, "decision_not_adverse"),
        ({"decision_type": None}, "no_decision"),
        ({"verified_by": None}, "not_verified"),
        ({"verified_by": ALICE}, "same_verifier"),
        ({"has_name": False}, "missing_name"),
        ({"date_of_birth": date(2027, 1, 1)}, "implausible_date_of_birth"),
        ({"date_of_birth": date(1850, 1, 1)}, "implausible_date_of_birth"),
        ({"decision_date": date(1970, 1, 1)}, "implausible_decision_date"),
        ({"current_status_kind": "settled"}, "status_conflict"),
        ({"current_status_kind": "limited_leave"}, "status_conflict"),
        ({"policy_refusal": "pause"}, "policy_refused"),
        ({"quality_hold": True}, "quality_hold"),
    ],
)
def test_each_condition_keeps_the_person_out(change: dict[str, object], reason: str) -> None:
    assert reason in gate(replace(PASSES, **change), ON)  # type: ignore[arg-type]


def review(who: uuid.UUID, outcome: str) -> SimpleNamespace:
    return SimpleNamespace(reviewer_id=who, outcome=outcome)


@pytest.mark.parametrize(
    ("reviews", "two_person", "expected"),
    [
        ([], False, False),
        ([("a", "same")], False, True),
        ([("a", "same")], True, False),
        ([("a", "same"), ("a", "same")], True, False),  # the same reviewer twice is one person
        ([("a", "same"), ("b", "same")], True, True),
        ([("a", "same"), ("b", "need_info")], True, False),
        ([("a", "same"), ("b", "not_same")], False, False),
        ([("a", "not_same"), ("a", "same")], False, True),  # a reviewer changed their mind
        ([("a", "same"), ("b", "not_same"), ("c", "same")], True, False),  # b still disagrees
    ],
)
def test_confirmed_review(reviews: list[tuple[str, str]], two_person: bool, expected: bool) -> None:
    ids = {"a": ALICE, "b": BOB, "c": uuid.uuid4()}
    rows = [review(ids[w], o) for w, o in reviews]
    assert confirmed(rows, two_person) is expected  # type: ignore[arg-type]

"""Report arithmetic against hand-counted tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shareguard.reports import charts, metrics


def at(y: int, m: int, d: int, h: int = 12) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "label"),
    [("day", "2026-02-03"), ("month", "2026-02"), ("quarter", "2026-Q1"), ("year", "2026")],
)
def test_period_labels(period: str, label: str) -> None:
    assert metrics.period_of(at(2026, 2, 3), period) == label


def test_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError):
        metrics.period_of(date(2026, 1, 1), "week")


def test_disclosures_by_purpose_and_period() -> None:
    rows = [
        {"purpose": "driving_licence", "at": at(2026, 1, 5)},
        {"purpose": "driving_licence", "at": at(2026, 1, 9)},
        {"purpose": "right_to_work", "at": at(2026, 1, 9)},
        {"purpose": "driving_licence", "at": at(2026, 2, 1)},
    ]
    assert metrics.by_purpose_and_period(rows) == [
        {"period": "2026-01", "purpose": "driving_licence", "count": 2},
        {"period": "2026-01", "purpose": "right_to_work", "count": 1},
        {"period": "2026-02", "purpose": "driving_licence", "count": 1},
    ]
    assert metrics.yearly_volumes([*rows, {"at": at(2025, 6, 1)}]) == [
        {"year": 2025, "disclosures": 1},
        {"year": 2026, "disclosures": 4},
    ]


def test_checks_rates() -> None:
    checks = [
        {"outcome": "confirmed"},
        {"outcome": "confirmed"},
        {"outcome": "referred", "contested": True},
        {"outcome": "not_confirmed", "contested": True},
    ]
    s = metrics.checks_summary(checks)
    assert s["by_outcome"] == {"confirmed": 2, "not_confirmed": 1, "referred": 1}
    assert (s["referral_rate"], s["contest_rate"]) == (0.25, 0.5)
    assert metrics.checks_summary([])["referral_rate"] is None


def test_error_rate_is_overturned_over_adverse_actions() -> None:
    s = metrics.match_summary(
        [
            {"candidates": 10, "reviewed": 8, "confirmed": 5},
            {"candidates": 2, "reviewed": 2, "confirmed": 1},
        ],
        [{"overturned": True}, {}, {}, {"overturned": False}],
    )
    assert (s["runs"], s["candidates"], s["reviewed"], s["confirmed"]) == (2, 12, 10, 6)
    assert (s["adverse_actions"], s["overturned"], s["error_rate"]) == (4, 1, 0.25)


def test_time_to_rectify_and_overdue() -> None:
    now = at(2026, 3, 1)
    notices = [
        {
            "disclosed_at": at(2026, 1, 1),
            "acknowledged_at": at(2026, 1, 2),
            "deadline": at(2026, 2, 1),
        },
        {
            "disclosed_at": at(2026, 1, 1),
            "acknowledged_at": at(2026, 1, 4),
            "deadline": at(2026, 2, 1),
        },
        {
            "disclosed_at": at(2026, 1, 1),
            "acknowledged_at": None,
            "deadline": at(2026, 2, 1),
            "escalated_at": at(2026, 2, 2),
        },
        {"disclosed_at": at(2026, 1, 1), "acknowledged_at": None, "deadline": at(2026, 4, 1)},
    ]
    s = metrics.corrections_summary([{"id": 1}], notices, now=now)
    assert (s["notices"], s["acknowledged"], s["overdue"], s["escalated"]) == (4, 2, 1, 1)
    assert s["time_to_rectify"] == {
        "done": 2,
        "open": 2,
        "median_hours": 48.0,
        "mean_hours": 48.0,
        "max_hours": 72.0,
    }


def test_volume_against_limit() -> None:
    rows = [{"at": at(2026, 1, 1, h)} for h in range(5)] + [{"at": at(2026, 1, 2)}]
    s = metrics.volume_against_limit(rows, 4)
    assert (s["busiest_day"], s["days_over_limit"], s["peak_use"]) == (5, 1, 1.25)
    assert metrics.volume_against_limit([], None)["busiest_day"] == 0


def test_pause_effect_counts_either_side() -> None:
    paused = at(2026, 6, 1)
    rows = [{"at": paused - timedelta(days=d)} for d in (1, 10, 200)] + [
        {"at": paused + timedelta(days=3)}
    ]
    s = metrics.pause_effect(rows, paused)
    assert (s["before"], s["after"], s["change"]) == (2, 1, -0.5)


def test_charts_are_vega_lite_v5_with_inline_data() -> None:
    report = {
        "reference": "HO-DVLA-001",
        "disclosures": {
            "by_purpose_and_period": [{"period": "2026-01", "purpose": "x", "count": 3}],
            "yearly": [{"year": 2026, "disclosures": 3}],
        },
        "checks": {"by_outcome": {"confirmed": 2}},
        "matching": {
            "candidates": 5,
            "reviewed": 4,
            "confirmed": 2,
            "adverse_actions": 2,
            "overturned": 1,
        },
    }
    specs = charts.charts_for(report)
    assert set(specs) == {"disclosures", "checks", "matching", "yearly"}
    for spec in specs.values():
        assert spec["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"
        assert spec["data"]["values"] and "encoding" in spec
    assert [v["count"] for v in specs["matching"]["data"]["values"]] == [5, 4, 2, 2, 1]


def test_pause_cut_is_the_share_of_requests_blocked() -> None:
    assert metrics.pause_cut(30, 10) == {"blocked_by_pause": 10, "share_blocked": 0.25}
    assert metrics.pause_cut(0, 0)["share_blocked"] is None

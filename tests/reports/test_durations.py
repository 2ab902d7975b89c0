"""Durations counted in SQL (``sources.durations``) equal ``metrics.duration_stats``.

The median is the middle of each key's hours in order (the mean of the two middle ones for an
even count); keys with an odd and an even count, ties, open rows and nothing done, on both
backends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from shareguard.reports import metrics, sources
from shareguard.storage.base import UTCDateTime

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
#: key → hours to each row's end (None: still open)
ROWS: dict[int, list[float | None]] = {
    1: [5.0, 1.5, 30.25],  # odd
    2: [4.0, 4.0, 1.0, 9.5],  # even, with a tie
    3: [None, None],  # nothing done
    4: [None, 2.0, None],  # one done
    5: [7.0, 7.0],  # even, equal
    6: [0.5, 100.0, 3.0, None, 12.0, 12.0, 1.0],  # even among the done, one open
}


def base() -> Any:
    rows = []
    for key, ends in ROWS.items():
        for i, h in enumerate(ends):
            start = T0 + timedelta(days=key, minutes=i)
            rows.append((key, start, None if h is None else start + timedelta(hours=h)))
    # A union of literal rows: SQLite cannot name a VALUES list's columns.
    timed = union_all(
        *(
            select(
                literal(key, Integer).label("key"),
                literal(start, UTCDateTime()).label("start"),
                literal(end, UTCDateTime()).label("end"),
            )
            for key, start, end in rows
        )
    ).subquery()
    return select(timed.c.key, timed.c.start, timed.c.end)


def expected(hours: list[float | None]) -> dict[str, Any]:
    pairs = [(T0, None if h is None else T0 + timedelta(hours=h)) for h in hours]
    return metrics.duration_stats(pairs)


def test_durations_by_key_and_in_all(session: Session) -> None:
    got = sources.durations(session, base(), grouped=True)
    assert {k: metrics.duration_figures(v) for k, v in got.items()} == {
        k: expected(hours) for k, hours in ROWS.items()
    }
    every = [h for hours in ROWS.values() for h in hours]
    overall = sources.durations(session, base(), grouped=False)
    assert metrics.duration_figures(overall[None]) == expected(every)


def test_durations_with_more_figures(session: Session) -> None:
    def opened(rows: Any) -> list[Any]:
        return [func.sum(case((rows.c.end.is_(None), 1), else_=0))]

    got = sources.durations(session, base(), grouped=True, figures=opened)
    assert {k: v["figures"] for k, v in got.items()} == {
        k: (sum(1 for h in hours if h is None),) for k, hours in ROWS.items()
    }

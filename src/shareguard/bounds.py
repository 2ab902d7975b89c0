"""Bounded types for everything a caller sends: dates, times and counts.

A date like 0001-01-01 or 9999-12-31 is a valid ``date`` but overflows the first time
anything adds a day or works out an age, and an integer past 2**63 overflows the database.
Request models and query parameters use these types instead, so such input is a 422 naming
the field, never a 500.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AwareDatetime, Field

EARLIEST = date(1800, 1, 1)
LATEST = date(2999, 12, 31)
#: The largest count, limit, offset or sequence number accepted (well inside 64-bit SQL).
MAX_INT = 2**53

#: A calendar date between 1800-01-01 and 2999-12-31.
Day = Annotated[date, Field(ge=EARLIEST, le=LATEST)]
#: A time with its UTC offset, between 1800 and 2999.
Moment = Annotated[
    AwareDatetime,
    Field(ge=datetime(1800, 1, 1, tzinfo=UTC), le=datetime(2999, 12, 31, tzinfo=UTC)),
]
#: A positive count (limits per day or per run).
Count = Annotated[int, Field(ge=1, le=1_000_000_000)]


def in_range(day: date | None) -> date | None:
    """``day`` if it lies between ``EARLIEST`` and ``LATEST``, else None (for form readers)."""
    if day is None or not EARLIEST <= day <= LATEST:
        return None
    return day

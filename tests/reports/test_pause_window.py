"""A pause's effect counted from the day counts and the cut days equals counting disclosures.

The report counts the disclosures in the 180 days before a pause and from it from the per-day
counts it has already read, and only the three days the window cuts (where it starts, the
pause's own day, where it ends) from the disclosures' times. These tests put disclosures on
either side of every cut, to the second, with pauses starting mid-day, and hold the report to
counting each disclosure's time in Python.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shareguard.policy.models import Disclosure
from shareguard.reports import metrics, rows
from shareguard.reports.service import ReportService
from shareguard.storage.base import new_id, utcnow
from shareguard.storage.bulk import insert_rows
from tests import factories
from tests.factories import TestWorld

WINDOW = timedelta(days=180)
SECOND = timedelta(seconds=1)
#: Mid-day pause starts, the second one earlier: the overall report's window is the earliest.
PAUSED = (
    datetime(2025, 7, 1, 13, 37, 11, tzinfo=UTC),
    datetime(2025, 6, 20, 8, 5, 42, 250000, tzinfo=UTC),
)


def _midnight(at: datetime) -> datetime:
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def times_around(paused: datetime) -> list[datetime]:
    """Disclosure times on both sides of every place the window cuts, and whole days."""
    start, end = paused - WINDOW, paused + WINDOW
    out = []
    for cut in (start, paused, end):
        day = _midnight(cut)
        out += [cut - SECOND, cut, cut + SECOND, day, day + timedelta(days=1) - SECOND]
        out += [day - SECOND, day + timedelta(days=1)]
    out += [paused - timedelta(days=d) for d in (2, 3, 3, 90, 179)]
    out += [paused + timedelta(days=d) for d in (2, 2, 60, 179)]
    out += [start - timedelta(days=5), end + timedelta(days=5)]
    return out


def every_time() -> list[datetime]:
    """The times of one scope's disclosures (each agreement's, and those under none)."""
    return times_around(PAUSED[0]) + times_around(PAUSED[1])


def build(world: TestWorld) -> list[uuid.UUID]:
    """Two agreements with a pause each, disclosures under them and under none."""
    paused = [world.agreement(reference="T-PAUSED-1"), world.agreement(reference="T-PAUSED-2")]
    for aid, at in zip(paused, PAUSED, strict=True):
        factories.pause(world, agreements=[str(aid)], starts_at=at)
    dept, agency = world.orgs["dept"], world.orgs["agency"]
    made = []
    for aid in (*paused, None):
        for n, at in enumerate(every_time()):
            # answers sent back to a request are disclosures too (not in the daily limit's
            # counts, but in the report's)
            action = "answer" if n % 7 == 0 else "check"
            row = (new_id(), at, at.date(), "check_answer", action, aid, "driving_licence")
            made.append((*row, dept, agency, "h", [], [], new_id()))
    columns = ("id", "at", "day", "kind", "action", "agreement_id", "purpose")
    columns += ("discloser_org_id", "recipient_org_id", "payload_hash", "data_items")
    insert_rows(world.session, Disclosure, made, (*columns, "record_refs", "audit_entry_id"))
    world.session.commit()
    return paused


def counted(times: list[datetime], paused: datetime) -> tuple[int, int]:
    before = sum(1 for t in times if paused - WINDOW <= t < paused)
    return before, sum(1 for t in times if paused <= t < paused + WINDOW)


def test_pause_effect_from_day_counts_equals_counting_disclosures(world: TestWorld) -> None:
    paused = build(world)
    officer = world.principals["officer"]
    service = ReportService(world.session)
    report = service.report(officer)
    every = every_time()
    # overall: the earliest pause, every disclosure (under no agreement too)
    want = counted(every * 3, PAUSED[1])
    got = report["pause_effect"]
    assert (got["paused_at"], got["before"], got["after"]) == (PAUSED[1].isoformat(), *want)
    sections = {s["reference"]: s for s in report["agreements"]}
    for aid, at, ref in zip(paused, PAUSED, ("T-PAUSED-1", "T-PAUSED-2"), strict=True):
        want = counted(every, at)
        effect = sections[ref]["pause_effect"]
        assert (effect["paused_at"], effect["before"], effect["after"]) == (at.isoformat(), *want)
        one = service.report(officer, agreement_id=aid)["pause_effect"]
        assert (one["before"], one["after"]) == want
    # and the same as counting every row in Python, per section
    now = utcnow()
    for aid, section in [(None, report), (paused[0], sections["T-PAUSED-1"])]:
        expected = rows.figures(world.session, aid, now=now)["pause_effect"]
        assert section["pause_effect"] == expected


@pytest.mark.parametrize(
    "since, until",
    [
        # a report for a period cutting a whole day of the window, and the pause's own day
        (PAUSED[0] - timedelta(days=3, hours=5), PAUSED[0] + timedelta(hours=2)),
        (PAUSED[0] - WINDOW + timedelta(hours=1), PAUSED[0] + WINDOW - timedelta(hours=30)),
        (PAUSED[0] + SECOND, None),
        (None, PAUSED[0]),
    ],
)
def test_pause_effect_for_a_period(world: TestWorld, since: Any, until: Any) -> None:
    paused = build(world)
    service = ReportService(world.session)
    one = service.report(
        world.principals["officer"], agreement_id=paused[0], since=since, until=until
    )
    inside = [
        t for t in every_time() if (since is None or t >= since) and (until is None or t < until)
    ]
    assert (one["pause_effect"]["before"], one["pause_effect"]["after"]) == counted(
        inside, PAUSED[0]
    )
    expected = rows.figures(world.session, paused[0], since=since, until=until, now=utcnow())
    assert one["pause_effect"] == expected["pause_effect"]


@pytest.mark.parametrize(
    "moment",
    [
        PAUSED[0],
        PAUSED[1],
        datetime(2025, 3, 1, tzinfo=UTC),  # at midnight
        datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2025, 3, 1, 12, 0),  # naive: taken as UTC
    ],
)
def test_around_moment_splits_the_window_exactly(moment: datetime) -> None:
    around = metrics.AroundMoment(moment, 180)
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    times = times_around(aware)
    days = [("k", "p", t.date().isoformat(), 1) for t in times]
    before, after = around.whole_days(days)
    for side, start, end in around.edges():
        n = sum(1 for t in times if start <= t < end)
        before, after = (before + n, after) if side == "before" else (before, after + n)
    assert (before, after) == counted(times, aware)

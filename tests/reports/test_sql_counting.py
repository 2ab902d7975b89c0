"""The reports counted in SQL agree exactly with counting every row in Python (``rows``)."""

from __future__ import annotations

import uuid
from typing import Any

from shareguard.agreements.models import Agreement
from shareguard.reports import rows
from shareguard.reports.service import ReportService
from shareguard.storage.base import utcnow
from tests.exchange.test_register_reports import (
    test_report_counts_requests_answers_refusals_and_inbound as exchange_story,
)
from tests.reports.test_reports import play

MEASURED = (
    "disclosures",
    "checks",
    "matching",
    "corrections",
    "refusals",
    "exchange",
    "volume",
    "pause_effect",
    "exemptions_used",
)


def agree(session: Any, officer: Any, period: str = "month") -> None:
    service = ReportService(session)
    report = service.report(officer, period=period)
    now = utcnow()
    sections = [(None, report), *((a["agreement_id"], a) for a in report["agreements"])]
    for aid, section in sections:
        agreement = session.get(Agreement, uuid.UUID(aid)) if aid else None
        expected = rows.figures(
            session,
            agreement.id if agreement else None,
            limit_per_day=agreement.limit_per_day if agreement else None,
            period=period,
            now=now,
        )
        for key in MEASURED:
            assert section[key] == expected[key], (section["reference"], key)
        if agreement is not None:
            one = service.report(officer, agreement_id=agreement.id, period=period)
            assert {k: one[k] for k in MEASURED} == {k: section[k] for k in MEASURED}


def test_sql_figures_equal_row_counting_on_the_story(world) -> None:  # type: ignore[no-untyped-def]
    play(world)
    for period in ("day", "month", "quarter", "year"):
        agree(world.session, world.principals["officer"], period)


def test_sql_figures_equal_row_counting_both_ways(xw) -> None:  # type: ignore[no-untyped-def]
    exchange_story(xw)
    agree(xw.session, xw.w.principals["officer"])

"""Scheduled notice work, as jobs: webhook deliveries (one unit of work each) and escalation.

Run while serving (``startup``) and from cron (``shareguard corrections deliver``/``escalate``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from shareguard.corrections.deliveries import WebhookService
from shareguard.corrections.notices import NoticeService
from shareguard.storage.jobs import Job

DELIVER_EVERY = 60
ESCALATE_EVERY = 3600
#: Deliveries tried per run at most.
DELIVERIES_PER_RUN = 100


def delivery_counts(outcomes: list[str]) -> dict[str, int]:
    """Counts of delivered, retrying and failed from one delivery run's outcomes."""
    counts = Counter(outcomes)
    return {k: counts.get(k, 0) for k in ("delivered", "retrying", "failed")}


def _deliver_one(session: Session) -> str | None:
    return WebhookService(session).deliver_next()


def _escalate(session: Session) -> int:
    return len(NoticeService(session).escalate_overdue())


def _deliveries(outcomes: list[str]) -> str | None:
    return f"webhook deliveries {delivery_counts(outcomes)}" if outcomes else None


def _escalated(n: Any) -> str | None:
    return f"{n} overdue rectification notice(s) escalated" if n else None


DELIVER = Job(
    "rectification-webhooks",
    DELIVER_EVERY,
    _deliver_one,
    report=_deliveries,
    repeat=DELIVERIES_PER_RUN,
)
ESCALATE = Job("rectification-escalation", ESCALATE_EVERY, _escalate, report=_escalated)

"""Prometheus metrics: what happened in this process, and the state the database holds.

Two kinds of series:

* **Events** (counters and histograms), counted in this process as they happen through
  ``shareguard.telemetry``: HTTP requests by route template, checks by outcome, decision
  latency, disclosures by agreement, refusals by kind, match-run durations, job runs. With
  several worker processes set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess
  mode) so a scrape sums them; without it each worker reports its own.
* **State** (gauges), read from the database at each scrape, so every process reports the
  same truth: the audit log's size, entries waiting for the integrator and the oldest one's
  age, the newest checkpoint's age, the newest backup's age, webhook queue depths, overdue
  notices and requests, and the retention backlog (recounted at most every ``BACKLOG_SECONDS``).

Labels are codes, route templates and agreement references: never personal data.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, func, select

from shareguard import telemetry
from shareguard.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from shareguard.config import Settings
from shareguard.corrections.models import RectificationNotice, WebhookDelivery
from shareguard.exchange.models import ExchangeRequest, RequestDelivery, RequestState
from shareguard.retention.service import RetentionService
from shareguard.storage.base import utcnow
from shareguard.storage.db import unit_of_work

#: The exposition format's content type.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds the retention backlog count is reused (it counts every rule's records).
BACKLOG_SECONDS = 300.0

EVENTS = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "shareguard_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
    registry=EVENTS,
)
HTTP_SECONDS = Histogram(
    "shareguard_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=EVENTS,
)
_COUNTERS = {
    "checks": Counter(
        "shareguard_checks",
        "Real-time checks answered, by outcome, purpose and method",
        ["outcome", "purpose", "method"],
        registry=EVENTS,
    ),
    "disclosures": Counter(
        "shareguard_disclosures",
        "Disclosures through the door, by agreement reference and kind",
        ["agreement", "kind"],
        registry=EVENTS,
    ),
    "refusals": Counter(
        "shareguard_refusals",
        "Refusals by the door, by kind (firewall, pause, lock, limit, ...) and action",
        ["kind", "action"],
        registry=EVENTS,
    ),
    "jobs": Counter(
        "shareguard_job_runs",
        "Scheduled job runs, by job and result (ok, failed)",
        ["job", "result"],
        registry=EVENTS,
    ),
}
_HISTOGRAMS = {
    "decision_seconds": Histogram(
        "shareguard_decision_duration_seconds",
        "Time the door takes to decide a request (policy, limits), by action",
        ["action"],
        buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
        registry=EVENTS,
    ),
    "match_run_seconds": Histogram(
        "shareguard_match_run_duration_seconds",
        "Match runs from start to end, by final state",
        ["state"],
        buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200),
        registry=EVENTS,
    ),
}


class PrometheusSink:
    """Receives ``telemetry.count``/``observe`` and updates the matching series."""

    def count(self, name: str, n: float, labels: dict[str, str]) -> None:
        metric = _COUNTERS.get(name)
        if metric is not None:
            metric.labels(**labels).inc(n)

    def observe(self, name: str, value: float, labels: dict[str, str]) -> None:
        metric = _HISTOGRAMS.get(name)
        if metric is not None:
            metric.labels(**labels).observe(value)


SINK = PrometheusSink()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_SECONDS.labels(method=method, route=route).observe(seconds)


class StateCollector:
    """Gauges read from the database at scrape time (each scrape one short read)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._backlog: tuple[float, int, int] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with unit_of_work(self.engine) as s:
            size = s.scalar(select(AuditHead.size)) or 0
            pending, oldest = s.execute(
                select(func.count(), func.min(AuditEntry.at)).where(AuditEntry.seq.is_(None))
            ).one()
            checkpoint = s.execute(
                select(AuditCheckpoint.tree_size, AuditCheckpoint.created_at)
                .order_by(AuditCheckpoint.tree_size.desc())
                .limit(1)
            ).first()
            # The newest `shareguard backup create` (an index lookup by action).
            last_backup = s.scalar(
                select(func.max(AuditEntry.at)).where(AuditEntry.action == "backup.create")
            )
            notices_queue = s.scalar(select(func.count()).where(WebhookDelivery.state == "pending"))
            requests_queue = s.scalar(
                select(func.count()).where(RequestDelivery.state == "pending")
            )
            notices_overdue = s.scalar(
                select(func.count()).where(
                    RectificationNotice.acknowledged_at.is_(None),
                    RectificationNotice.deadline < now,
                )
            )
            requests_overdue = s.scalar(
                select(func.count()).where(
                    ExchangeRequest.state == RequestState.OPEN, ExchangeRequest.deadline < now
                )
            )
        yield _gauge("shareguard_audit_log_size", "Entries integrated into the audit log", size)
        yield _gauge(
            "shareguard_audit_pending_entries",
            "Audit entries committed but not yet integrated (integration lag, in entries)",
            pending,
        )
        yield _gauge(
            "shareguard_audit_oldest_pending_seconds",
            "Age of the oldest entry waiting for the integrator (0 when none waits)",
            _age(now, oldest) if oldest else 0.0,
        )
        yield _gauge(
            "shareguard_audit_checkpoint_age_seconds",
            "Seconds since the newest signed checkpoint (-1: none yet)",
            _age(now, checkpoint[1]) if checkpoint else -1.0,
        )
        yield _gauge(
            "shareguard_audit_checkpoint_size",
            "Tree size of the newest signed checkpoint",
            checkpoint[0] if checkpoint else 0,
        )
        yield _gauge(
            "shareguard_backup_age_seconds",
            "Seconds since the newest backup made with `shareguard backup create` (-1: none yet)",
            _age(now, last_backup) if last_backup else -1.0,
        )
        queues = GaugeMetricFamily(
            "shareguard_webhook_queue_depth",
            "Webhook deliveries waiting to be pushed, by queue",
            labels=["queue"],
        )
        queues.add_metric(["notices"], float(notices_queue or 0))
        queues.add_metric(["requests"], float(requests_queue or 0))
        yield queues
        yield _gauge(
            "shareguard_notices_overdue",
            "Rectification notices past their deadline and not acknowledged",
            notices_overdue or 0,
        )
        yield _gauge(
            "shareguard_requests_overdue",
            "Requests to partners past their deadline and still open",
            requests_overdue or 0,
        )
        due, held = self.backlog()
        backlog = GaugeMetricFamily(
            "shareguard_retention_backlog",
            "Records past their retention period not yet erased: due, or kept (hold, in use)",
            labels=["state"],
        )
        backlog.add_metric(["due"], float(due))
        backlog.add_metric(["held"], float(held))
        yield backlog

    def backlog(self) -> tuple[int, int]:
        """(due, held), recounted at most every ``BACKLOG_SECONDS``."""
        with self._lock:
            if self._backlog is None or time.monotonic() - self._backlog[0] > BACKLOG_SECONDS:
                with unit_of_work(self.engine) as s:
                    plan = RetentionService(s, self.settings).plan()
                self._backlog = (time.monotonic(), plan.total_due, plan.total_held)
            return self._backlog[1], self._backlog[2]


def _gauge(name: str, text: str, value: Any) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=float(value or 0))


def _age(now: datetime, then: datetime) -> float:
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())


def render(state: StateCollector) -> bytes:
    """The scrape: this process's (or, in multiprocess mode, all workers') events, then the
    database's state."""
    events: CollectorRegistry = EVENTS
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        events = CollectorRegistry()
        MultiProcessCollector(events)
    states = CollectorRegistry(auto_describe=False)
    states.register(state)
    return generate_latest(events) + generate_latest(states)


def install_sink() -> None:
    telemetry.install(SINK)

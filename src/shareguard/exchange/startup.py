"""While serving: every minute push due request webhooks; hourly remind partners of requests
nearly due and escalate overdue ones. ``shareguard requests escalate`` does the same from cron;
nothing is scheduled in test mode (tests call the service directly)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session

from shareguard.exchange.service import RequestService
from shareguard.storage.jobs import Job, run_once, schedule

DELIVER_EVERY = 60
ESCALATE_EVERY = 3600


def _deliver(session: Session) -> dict[str, int]:
    return RequestService(session).deliver_webhooks()


def _escalate(session: Session) -> tuple[int, int]:
    svc = RequestService(session)
    return len(svc.remind_due()), len(svc.escalate_overdue())


def _delivered(counts: dict[str, int]) -> str | None:
    return f"request webhook deliveries {counts}" if any(counts.values()) else None


def _escalated(done: tuple[int, int]) -> str | None:
    return f"requests: {done[0]} reminded, {done[1]} escalated" if any(done) else None


DELIVER = Job("exchange-request-webhooks", DELIVER_EVERY, _deliver, report=_delivered)
ESCALATE = Job("exchange-request-escalation", ESCALATE_EVERY, _escalate, report=_escalated)


def deliver_once(app: FastAPI) -> dict[str, int]:
    """One delivery run now, in its own unit of work."""
    result: dict[str, int] = run_once(DELIVER, app.state.engine)
    return result


def escalate_once(app: FastAPI) -> tuple[int, int]:
    """One reminder and escalation run now (reminded, escalated), in its own unit of work."""
    result: tuple[int, int] = run_once(ESCALATE, app.state.engine)
    return result


def install(app: FastAPI) -> None:
    if app.state.settings.mode == "test":
        return
    schedule(app, DELIVER, ESCALATE)

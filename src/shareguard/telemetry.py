"""Counters and timings the code reports, and the request's context for logs.

Services call ``count`` and ``observe`` with a name and a few labels; nothing happens until a
sink is installed (``shareguard.operations.metrics`` installs the Prometheus one while
serving). Labels are codes, outcomes and agreement references: never personal data, never an
id of a person.

``context()`` is the current request's mutable context (request id, organisation id), set by
the web app's middleware and read by the JSON log formatter; a dict inside the context
variable, so that a dependency running in a worker thread can fill it in for the request.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol


class Sink(Protocol):
    def count(self, name: str, n: float, labels: dict[str, str]) -> None: ...

    def observe(self, name: str, value: float, labels: dict[str, str]) -> None: ...


_sinks: list[Sink] = []
_context: ContextVar[dict[str, Any] | None] = ContextVar("shareguard_request", default=None)


def install(sink: Sink) -> None:
    """Send every count and observation to ``sink`` too (idempotent per sink)."""
    if sink not in _sinks:
        _sinks.append(sink)


def count(name: str, n: float = 1, **labels: str) -> None:
    """Add ``n`` to the counter ``name`` with these labels."""
    for sink in _sinks:
        sink.count(name, n, labels)


def observe(name: str, value: float, **labels: str) -> None:
    """Record one observation (seconds, for timings) of ``name``."""
    for sink in _sinks:
        sink.observe(name, value, labels)


def begin(request_id: str) -> Any:
    """Start a request's context; returns the token ``end`` needs."""
    return _context.set({"request_id": request_id})


def end(token: Any) -> None:
    _context.reset(token)


def context() -> dict[str, Any]:
    """The current request's context (empty outside a request; writes then go nowhere)."""
    found = _context.get()
    return found if found is not None else {}

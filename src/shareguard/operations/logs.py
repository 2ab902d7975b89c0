"""Application logs: plain text, or one JSON object per line (``SHAREGUARD_LOG_FORMAT=json``).

Every line carries the request id and the organisation id of the request it came from (when
there is one). Messages are the code's own: ids, codes and counts, never names, dates of birth
or document numbers (DESIGN.md invariant 7). The access line the web middleware writes (in
both formats; uvicorn's own is off) names the route template, never the raw path or query
string, which may hold what a user typed.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from shareguard import telemetry
from shareguard.config import Settings

#: Loggers whose own access lines would carry raw paths and query strings.
QUIET = ("uvicorn.access",)


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``organisation_id`` of the current request to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = telemetry.context()
        record.request_id = ctx.get("request_id")
        record.organisation_id = ctx.get("organisation_id")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and organisation ids,
    the exception's type (never its text, which can quote a statement's parameters)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "organisation_id": getattr(record, "organisation_id", None),
        }
        for key in ("method", "route", "status", "duration_ms"):
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_info and record.exc_info[0] is not None:
            doc["error"] = record.exc_info[0].__name__
        return json.dumps(doc, default=str)


def configure(settings: Settings) -> None:
    """Set the root logger's format once per process (JSON when configured)."""
    root = logging.getLogger()
    if any(getattr(h, "_shareguard", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._shareguard = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    for name in QUIET:  # in both formats: the middleware writes the access lines
        logging.getLogger(name).disabled = True
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
        for name in ("uvicorn", "uvicorn.error"):
            logging.getLogger(name).handlers = []
            logging.getLogger(name).propagate = True
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)

"""While serving: request ids, request metrics, JSON access lines, ``/metrics`` and ``/readyz``."""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from shareguard import telemetry
from shareguard.config import Settings, is_loopback
from shareguard.operations import logs, metrics
from shareguard.operations.readiness import readiness

access_log = logging.getLogger("shareguard.access")
#: A request id a caller (or a proxy) sends is kept only if it looks like one.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class OperationsMiddleware:
    """Gives each request an id (``X-Request-ID``, echoed back), times it by route template
    for ``/metrics`` and, with JSON logs, writes one access line without path or query."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.json = settings.log_format == "json"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        token = telemetry.begin(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _template(scope)
            method = scope.get("method", "")
            metrics.observe_request(method, route, status, seconds)
            # Our access line, in both formats, names the route template: uvicorn's own
            # (off, see ``logs.QUIET``) would carry the raw path and query string.
            fields = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            }
            if self.json:
                access_log.info("request", extra=fields)
            else:
                access_log.info("%(method)s %(route)s %(status)s %(duration_ms)s ms", fields)
            telemetry.end(token)


def _template(scope: Any) -> str:
    """The matched route's template with its router's prefix (``/api/v1/checks/{id}``): a
    label with one value per route, never the raw path (ids, typed text)."""
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return "unmatched"
    path = scope.get("path", "")
    head = template.split("{", 1)[0]
    # An included router's routes know their path without its prefix: take it from the path.
    at = path.find(head) if head not in ("", "/") else 0
    return (path[:at] if at > 0 else "") + template


def _refusal(request: Request, settings: Settings) -> Response | None:
    """Why ``/metrics`` will not answer this caller (None if it will): it answers its token's
    holder; without a token, outside demo and test mode, only this machine (Prometheus on
    loopback, or a sidecar). A problem+json answer, never the console's sign-in page."""
    if settings.metrics_token:
        header = request.headers.get("authorization", "")
        given = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if given and hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            return None
        return _problem(401, "send the metrics token as 'Authorization: Bearer <token>'")
    if settings.mode == "production":
        host = request.client.host if request.client else ""
        if not is_loopback(host):
            return _problem(
                403, "metrics are served to this machine only: set SHAREGUARD_METRICS_TOKEN"
            )
    return None


def _problem(status: int, detail: str) -> Response:
    title = "Unauthenticated" if status == 401 else "Forbidden"
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
    )


def install(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    metrics.install_sink()
    if settings.log_format == "json":
        logs.configure(settings)
    state = metrics.StateCollector(app.state.engine, settings)

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        refused = _refusal(request, settings)
        if refused is not None:
            return refused
        return Response(metrics.render(state), media_type=metrics.CONTENT_TYPE)

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        found = readiness(app.state.engine, settings)
        body = {"status": "ready" if found.ready else "not ready", "checks": found.checks}
        return JSONResponse(body, status_code=200 if found.ready else 503)

    app.add_middleware(OperationsMiddleware, settings=settings)

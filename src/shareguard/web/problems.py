"""Every error leaves as RFC 9457 problem+json, naming the field at fault, never its value."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shareguard.errors import InvalidInput, NotFound, ShareguardError

log = logging.getLogger("shareguard.web")
PROBLEM = "application/problem+json"


def problem_response(body: dict, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM, headers=headers)


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "request"


#: Messages for error types whose own message can quote part of the input.
_GENERIC = {
    "uuid_parsing": "Input should be a valid UUID",
    "uuid_type": "Input should be a valid UUID",
    "json_invalid": "the body is not valid JSON",
    "url_parsing": "Input should be a valid URL",
    "date_from_datetime_parsing": "Input should be a valid date",
    "datetime_from_date_parsing": "Input should be a valid date and time",
}
_QUOTED = re.compile(r",? found `[^`]*`(?: at \d+)?")


def safe_message(error: Mapping[str, Any]) -> str:
    """A validation message that never repeats the submitted value (invariant 7)."""
    kind = str(error.get("type", ""))
    message = _GENERIC.get(kind) or _QUOTED.sub("", str(error.get("msg", "invalid")))
    message = message.removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str) and len(value) >= 3 and value in message:
        return "the value is not accepted here"
    return message


def _route_methods(routes: Any, prefix: str = "") -> Iterator[tuple[re.Pattern[str], set[str]]]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI's included router
        if inner is not None:
            yield from _route_methods(inner.routes, prefix + route.include_context.prefix)
        elif getattr(route, "methods", None) and isinstance(getattr(route, "path", None), str):
            yield compile_path(prefix + route.path)[0], set(route.methods)


def allowed_methods(request: Request) -> str:
    """Every method some route answers on this path (for a 405's ``Allow`` header)."""
    table = getattr(request.app.state, "route_methods", None)
    if table is None:
        table = list(_route_methods(request.app.router.routes))
        request.app.state.route_methods = table
    methods: set[str] = set()
    for regex, route_methods in table:
        if regex.match(request.url.path):
            methods |= route_methods
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    @app.exception_handler(ShareguardError)
    async def _domain(request: Request, exc: ShareguardError) -> JSONResponse:
        if request.url.path.startswith("/api/") or not hasattr(app.state, "console_error"):
            headers = (
                {"Retry-After": str(exc.extra["retry_after"])}
                if "retry_after" in exc.extra
                else None
            )
            return problem_response({**exc.problem(), "instance": request.url.path}, headers)
        return app.state.console_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            # The input value itself is left out: it may be personal data.
            {"field": _field(tuple(e["loc"])), "message": safe_message(e)}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "request", "message": "invalid"}
        if not request.url.path.startswith("/api/") and hasattr(app.state, "console_error"):
            # A browser gets a GOV.UK page: no such page for a malformed id in the path
            # (/review/not-an-id), else the field at fault.
            in_path = all(tuple(e["loc"])[:1] == ("path",) for e in exc.errors())
            err: ShareguardError = (
                NotFound("page not found")
                if in_path
                else InvalidInput(f"{first['field']}: {first['message']}", field=first["field"])
            )
            return app.state.console_error(request, err)
        return problem_response(
            {
                "type": "https://shareguard.example/problems/invalid-input",
                "title": "Invalid input",
                "status": 422,
                "detail": f"{first['field']}: {first['message']}",
                "field": first["field"],
                "errors": errors,
                "instance": request.url.path,
            }
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            # Starlette names only the first route on the path; every method is allowed.
            exc.headers = {**(exc.headers or {}), "Allow": allowed_methods(request)}
        if not request.url.path.startswith("/api/") and hasattr(app.state, "console_error"):
            err = (
                NotFound("page not found")
                if exc.status_code == 404
                else ShareguardError(str(exc.detail))
            )
            err.status = exc.status_code
            page = app.state.console_error(request, err)
            page.headers.update(exc.headers or {})  # e.g. 405's Allow
            return page
        return problem_response(
            {
                "type": "about:blank",
                "title": str(exc.detail),
                "status": exc.status_code,
                "instance": request.url.path,
            },
            dict(exc.headers) if exc.headers else None,
        )

    app.add_middleware(ContainUnexpected, handler=lambda request, exc: _unexpected(request, exc))

    @app.exception_handler(Exception)
    async def _unexpected_handler(request: Request, exc: Exception) -> Response:
        return await _unexpected(request, exc)

    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Log the class only: messages from drivers can echo parameters (personal data).
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        if not request.url.path.startswith("/api/") and hasattr(app.state, "console_error"):
            err = ShareguardError("Sorry, there is a problem with the service. Try again later.")
            err.status, err.title = 500, "Sorry, there is a problem with the service"
            try:
                return app.state.console_error(request, err)
            except Exception:
                log.error("console error page failed on %s", request.url.path)
        return problem_response(
            {
                "type": "about:blank",
                "title": "Internal server error",
                "status": 500,
                "instance": request.url.path,
            }
        )


class ContainUnexpected:
    """Answer an unexpected exception here instead of letting it reach the server.

    Starlette re-raises unhandled exceptions after answering so that the server logs
    them, with their message: and a message can carry personal data. This pure ASGI
    middleware answers (via ``handler``) and stops the exception; only its class is logged.
    """

    def __init__(
        self, app: ASGIApp, handler: Callable[[Request, Exception], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                log.error("unhandled %s after the response started", type(exc).__name__)
                return
            response = await self.handler(Request(scope, receive), exc)
            await response(scope, receive, send)

"""Every error leaves as RFC 9457 problem+json, naming the field at fault, never its value."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shareguard.errors import NotFound, ShareguardError

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
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            # The input value itself is left out: it may be personal data.
            {"field": _field(tuple(e["loc"])), "message": e["msg"].removeprefix("Value error, ")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "request", "message": "invalid"}
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
        if not request.url.path.startswith("/api/") and hasattr(app.state, "console_error"):
            err = (
                NotFound("page not found")
                if exc.status_code == 404
                else ShareguardError(str(exc.detail))
            )
            err.status = exc.status_code
            return app.state.console_error(request, err)
        return problem_response(
            {
                "type": "about:blank",
                "title": str(exc.detail),
                "status": exc.status_code,
                "instance": request.url.path,
            }
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

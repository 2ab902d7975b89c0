"""Every error leaves as RFC 9457 problem+json, naming the field at fault, never its value."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shareguard.errors import ShareguardError

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
            from shareguard.errors import NotFound
            from shareguard.errors import ShareguardError as SE

            err: SE = NotFound("page not found") if exc.status_code == 404 else SE(str(exc.detail))
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Log the class only: messages from drivers can echo parameters (personal data).
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return problem_response(
            {
                "type": "about:blank",
                "title": "Internal server error",
                "status": 500,
                "instance": request.url.path,
            }
        )

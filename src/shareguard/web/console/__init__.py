"""Server-rendered console. (Minimal until the GOV.UK console lands.)"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.middleware.sessions import SessionMiddleware

from shareguard.agreements import transparency
from shareguard.config import Settings


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(
        SessionMiddleware, secret_key=settings.secret_key, max_age=settings.session_max_age,
        same_site="lax", https_only=settings.mode == "production", session_cookie="sg_session",
    )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def register_page(request: Request) -> HTMLResponse:
        from html import escape

        with app.state.session_factory() as session:
            data = transparency.register(session)
        rows = "".join(
            f"<tr><td>{escape(a['reference'])}</td><td>{escape(a['title'])}</td>"
            f"<td>{escape(a['status'])}</td></tr>"
            for a in data["agreements"]
        )
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><title>Data-sharing agreements</title></head>"
            f"<body><main><h1>Data-sharing agreements</h1><table>{rows}</table></main></body></html>"
        )

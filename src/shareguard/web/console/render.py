"""The console's Jinja environment: our templates plus GOV.UK Frontend's macros."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)

from shareguard.web.console.security import csrf_token, navigation, pop_flash

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"

SERVICE_NAME = "Share data safely"
PERSON_SERVICE_NAME = "View and manage your immigration data"


def _date(value: date | datetime | None) -> str:
    """GOV.UK style dates: 5 January 2026, and 2:15pm for times (UTC)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        hour = value.strftime("%I").lstrip("0") or "12"
        return f"{value.day} {value:%B %Y} at {hour}:{value:%M}{value:%p}".replace(
            "AM", "am"
        ).replace("PM", "pm")
    return f"{value.day} {value:%B %Y}"


def _iso(value: date | datetime | None) -> str:
    return value.isoformat() if value else ""


def _humanise(value: str | None) -> str:
    return (value or "").replace("_", " ").capitalize()


@lru_cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(str(TEMPLATES)),
                PrefixLoader(
                    {"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}
                ),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["govuk_date"] = _date
    env.filters["iso"] = _iso
    env.filters["humanise"] = _humanise
    env.globals["SERVICE_NAME"] = SERVICE_NAME
    env.globals["PERSON_SERVICE_NAME"] = PERSON_SERVICE_NAME
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the request's user, navigation, CSRF token and flash message."""

    ctx: dict[str, Any] = {
        "request": request,
        "csrf_token": csrf_token(request),
        "user": getattr(request.state, "console_user", None),
        "flash": pop_flash(request),
        "path": request.url.path,
    }
    ctx["navigation"] = navigation(request, ctx["user"])
    ctx.update(context)
    html = environment().get_template(template).render(ctx)
    headers = {"Cache-Control": "no-store"} if ctx["user"] or request.session.get("psid") else None
    return HTMLResponse(html, status_code=status_code, headers=headers)

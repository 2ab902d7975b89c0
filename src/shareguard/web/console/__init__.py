"""Server-rendered GOV.UK Design System console and the person-facing service.

``install(app, settings)`` adds the session middleware, serves GOV.UK Frontend's and MoJ
Frontend's assets (no CDN), mounts the pages and registers the console's error pages.
"""

from __future__ import annotations

import importlib
import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from shareguard.config import Settings
from shareguard.errors import ShareguardError, Unauthenticated
from shareguard.web.console.render import STATIC, render
from shareguard.web.console.security import SIGNED_IN_MARKER, CsrfRejected, PersonSignInRequired

log = logging.getLogger("shareguard.console")

#: Page modules, mounted in this order; those whose capability has not landed import nothing.
PAGES = (
    "drafts",  # before "pages": /agreements/new must win over /agreements/{reference}
    "pages",
    "person",
    "partner",
    "casework",
    "review",
    "governance",
    "firewall",
    "reports",
    "matches",
    "credentials",
    "assisted",
    "watchlist",
    "quality",
    "exchange",
)

ERROR_TITLES = {
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "Page not found",
    409: "This cannot be done now",
    422: "There is a problem",
    429: "Too many requests",
    503: "Sorry, the service is unavailable",
}


def console_error(request: Request, exc: ShareguardError) -> Response:
    """A GOV.UK error page for a domain error; a redirect to sign in for a missing session."""
    if isinstance(exc, Unauthenticated):
        person = isinstance(exc, PersonSignInRequired) or request.url.path.startswith("/my")
        target = "/my/sign-in" if person else "/sign-in"
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # A signed-in marker outlives the session cookie, so we can say why they must sign in again.
        expired = "&expired=1" if request.cookies.get(SIGNED_IN_MARKER) else ""
        return RedirectResponse(f"{target}?next={quote(nxt, safe='/')}{expired}", status_code=303)
    if not hasattr(request.state, "console_user"):
        request.state.console_user = None
    status = exc.status if exc.status >= 400 else 400
    title = (
        exc.title
        if isinstance(exc, CsrfRejected)
        else ERROR_TITLES.get(status, "There is a problem")
    )
    log.info("console error %s on %s %s", status, request.method, request.url.path)
    template = "my/error.html" if request.url.path.startswith("/my") else "console/error.html"
    return render(
        request,
        template,
        status_code=status,
        title=title,
        status=status,
        detail=exc.detail[:1].upper() + exc.detail[1:],
        csrf=isinstance(exc, CsrfRejected),
    )


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.mode == "production",
        session_cookie="sg_session",
    )
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    # GOV.UK Frontend's CSS asks for /assets/fonts and /assets/images; MoJ's for /assets/images.
    assets = StaticFiles(directory=STATIC / "govuk" / "assets", check_dir=False)
    assets.all_directories.append(STATIC / "moj" / "assets")
    app.mount("/assets", assets, name="assets")
    paths: set[str] = set()
    for name in PAGES:
        try:
            module = importlib.import_module(f"shareguard.web.console.{name}")
        except ModuleNotFoundError as exc:
            if (
                exc.name
                and exc.name.startswith("shareguard.")
                and exc.name != f"shareguard.web.console.{name}"
            ):
                log.info("console pages %s skipped: %s is not installed", name, exc.name)
                continue
            if exc.name == f"shareguard.web.console.{name}":
                continue
            raise
        app.include_router(module.router)
        paths.update(getattr(r, "path", "") for r in module.router.routes)
    app.state.console_error = console_error
    # Navigation offers only pages that exist: capabilities land at different times.
    app.state.console_paths = paths

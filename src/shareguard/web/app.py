"""FastAPI factory: JSON API under /api/v1, the console at /, problem+json errors."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from shareguard import __version__
from shareguard.capabilities import rooms
from shareguard.config import Settings, get_settings, serving_refusal
from shareguard.signin import configured_sender
from shareguard.signin import mapping as claims_mapping
from shareguard.storage.db import get_engine, session_factory
from shareguard.web import openapi, problems
from shareguard.web.console import install as install_console
from shareguard.web.deps import current_principal
from shareguard.web.limits import BodyLimit

API = "/api/v1"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    refusal = serving_refusal(settings)
    if refusal:
        raise RuntimeError(refusal)
    if settings.staff_method == "oidc" and settings.staff_oidc_mapping is not None:
        claims_mapping.load(settings.staff_oidc_mapping)  # fail fast: names file, line, field
    app = FastAPI(
        title="shareguard",
        version=__version__,
        summary="Governed data sharing and immigration status checks",
        description=(
            "Every disclosure is listed, lawful, minimal, measured, correctable and provable. "
            "Authenticate with `Authorization: Bearer <API key>`. Errors are RFC 9457 "
            "`application/problem+json`."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine()
    app.state.session_factory = session_factory(app.state.engine)
    app.state.code_sender = configured_sender(settings)
    problems.install(app)

    @app.get("/healthz", tags=["health"], summary="Liveness (no auth)")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    public: set[tuple[str, str]] = {("/healthz", "GET")}
    for module in rooms("api"):
        if hasattr(module, "router"):
            app.include_router(module.router, prefix=API, dependencies=[Depends(current_principal)])
        if hasattr(module, "public"):
            app.include_router(module.public, prefix=API)
            public |= {
                (API + route.path, method)
                for route in module.public.routes
                for method in getattr(route, "methods", ())
            }
    openapi.install(app, public)
    for module in rooms("startup"):
        module.install(app)

    install_console(app, settings)
    # Added last, so outermost: limits apply before sessions, authentication and parsing.
    app.add_middleware(BodyLimit)
    return app

"""The OpenAPI document: security schemes, every error as problem+json, public routes marked.

FastAPI documents the success response and a 422 in its own shape; shareguard answers every
error as RFC 9457 ``application/problem+json``. ``install`` replaces ``app.openapi`` so the
document says so: a ``Problem`` schema, the error statuses each operation can answer, the
bearer key, the partners' client credentials and the console session as security schemes,
and no security on public routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `field` names the input at fault, never its value.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "retry_after": {"type": "integer"},
    },
    "additionalProperties": True,
}
ERRORS = {
    "400": "Bad request",
    "401": "No valid API key or session",
    "403": "The caller may not do this (a role, an agreement's scope, or a refused disclosure)",
    "404": "Not found, or not visible to this caller",
    "405": "Method not allowed (the `Allow` header lists those that are)",
    "409": "Conflicts with the current state",
    "413": "The request body is larger than this route accepts",
    "422": "Invalid input: `field` names the input at fault",
    "429": "Too many requests (see `Retry-After`)",
}
SECURITY_SCHEMES = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An organisation's or a user's API key: `Authorization: Bearer sg_...`",
    },
    "partnerClient": {
        "type": "oauth2",
        "description": "A partner's machine client: OAuth 2.0 client credentials authenticated "
        "with a JWT signed by its registered key (RFC 7523, `private_key_jwt`); send the "
        "access token as `Authorization: Bearer sgat_...`",
        "flows": {"clientCredentials": {"tokenUrl": "/api/v1/oauth/token", "scopes": {}}},
    },
    "consoleSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sg_session",
        "description": "The console's session; a state change also needs its CSRF token in "
        "`X-CSRF-Token` and the console's own origin",
    },
}


def install(app: FastAPI, public: set[tuple[str, str]]) -> None:
    """Serve the document described above; ``public`` holds the (path, method) needing no key."""

    def document() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        shape(spec, public)
        app.openapi_schema = spec
        return spec

    app.openapi = document  # type: ignore[method-assign]


def shape(spec: dict[str, Any], public: set[tuple[str, str]]) -> None:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    spec["security"] = [{"apiKey": []}, {"partnerClient": []}, {"consoleSession": []}]
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses[status] = {"description": description, "content": {PROBLEM: ref}}
            if (path, method.upper()) in public:
                op["security"] = []

"""Partners' machine clients: registering public keys, and the token endpoint (RFC 7523)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from shareguard.accounts.models import Role
from shareguard.errors import NotFound
from shareguard.signin.clients import TokenEndpoint
from shareguard.signin.schemas import ClientIn, ClientOut, TokenOut
from shareguard.signin.throttle import Throttle
from shareguard.web.deps import (
    Accounts,
    Clients,
    CurrentPrincipal,
    SessionDep,
    allow,
    client_address,
)

router = APIRouter(tags=["partner clients"])
public = APIRouter(tags=["partner clients"])

TOKEN_PATH = "/oauth/token"
#: RFC 6749 §5.2: a client that fails to authenticate gets 401, every other refusal 400.
ERROR_STATUS = {"invalid_client": 401}
ERROR_TITLES = {
    "invalid_client": "Client authentication failed",
    "invalid_request": "The token request is malformed",
    "unsupported_grant_type": "Only grant_type=client_credentials is supported",
    "unauthorized_client": "This client may not use this grant",
    "invalid_scope": "The scope asked for is not available",
    "invalid_grant": "The grant is invalid",
    "insecure_transport": "The token endpoint answers over HTTPS only",
}


def token_endpoint_url(request: Request) -> str:
    """This token endpoint's URL: the ``aud`` a client's assertion must carry."""
    base = request.app.state.settings.public_url or str(request.base_url)
    return base.rstrip("/") + "/api/v1" + TOKEN_PATH


async def _form(request: Request) -> FormData:
    return await request.form()


TokenForm = Annotated[FormData, Depends(_form)]


@public.post(
    TOKEN_PATH,
    response_model=TokenOut,
    summary="An access token for a signed client assertion (RFC 7523, private_key_jwt)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type", "client_assertion_type", "client_assertion"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_assertion_type": {
                                "type": "string",
                                "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                            },
                            "client_assertion": {
                                "type": "string",
                                "description": "A JWT signed with the client's registered key: "
                                "iss = sub = client id, aud = this endpoint's URL, exp at most "
                                "5 minutes ahead, a unique jti",
                            },
                        },
                    }
                }
            },
        }
    },
)
def token(request: Request, form: TokenForm, session: SessionDep) -> Response:
    """Client credentials with a signed JWT: a short-lived bearer token carrying the client's
    organisation and agreement scope. Refusals are problem+json with the RFC 6749 ``error``."""
    settings = request.app.state.settings
    audience = token_endpoint_url(request)
    throttle = Throttle(session, settings.secret_key)
    address = throttle.key("address", client_address(request))
    endpoint = TokenEndpoint(session, audience, settings.partner_token_seconds, throttle, address)
    answer = endpoint.respond(request, form, audience if settings.public_url else "")
    if answer.status_code == 200:
        return answer
    return _problem(answer)


def _problem(answer: Response) -> Response:
    try:
        body: dict[str, Any] = json.loads(bytes(answer.body))
    except ValueError:
        body = {}
    error = str(body.get("error") or "invalid_request")
    status = ERROR_STATUS.get(error, 400)
    return JSONResponse(
        {
            "type": f"https://shareguard.example/problems/oauth-{error.replace('_', '-')}",
            "title": ERROR_TITLES.get(error, "The token request was refused"),
            "status": status,
            "detail": str(body.get("error_description") or error),
            "error": error,
        },
        status_code=status,
        media_type="application/problem+json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _own_org_or_officer(principal: CurrentPrincipal, org_id: uuid.UUID) -> None:
    if principal.organisation_id != org_id and not principal.has(Role.GOVERNANCE_OFFICER):
        raise NotFound(f"organisation {org_id} not found")


@router.get("/organisations/{org_id}/clients", response_model=list[ClientOut])
def clients(org_id: uuid.UUID, principal: CurrentPrincipal, service: Clients) -> list[ClientOut]:
    """The organisation's machine clients this caller may manage (public keys only)."""
    _own_org_or_officer(principal, org_id)
    return [ClientOut.model_validate(c) for c in service.clients(org_id, principal)]


@router.post(
    "/organisations/{org_id}/clients",
    response_model=ClientOut,
    status_code=201,
    dependencies=[allow(Role.GOVERNANCE_OFFICER)],
)
def register_client(
    org_id: uuid.UUID,
    body: ClientIn,
    principal: CurrentPrincipal,
    accounts: Accounts,
    service: Clients,
) -> ClientOut:
    """Register a public key (JWK) for client credentials with signed assertions."""
    accounts.organisation(org_id)
    client = service.register(
        org_id,
        body.name,
        body.jwk,
        agreement_ids=body.agreement_ids,
        expires_at=body.expires_at,
        principal=principal,
    )
    return ClientOut.model_validate(client)


@router.post("/clients/{client_key_id}/revoke", response_model=ClientOut)
def revoke_client(
    client_key_id: uuid.UUID, principal: CurrentPrincipal, service: Clients
) -> ClientOut:
    """Revoke a client at once; its access tokens stop working too."""
    return ClientOut.model_validate(service.revoke(client_key_id, principal))

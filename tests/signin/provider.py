"""A real OpenID provider for tests, built from Authlib's server parts and served over HTTP on
loopback by uvicorn: discovery, JWKS, the authorisation endpoint (a "Continue" page), the
token endpoint (authorisation code with PKCE, ``private_key_jwt`` client authentication
checked against the client's registered public keys, ``jti`` replay refused), ID tokens
(RS256, with ``nonce``, ``at_hash``, ``vot``, ``amr``/``acr``), ``/userinfo``, and One Login's
signed identity claim (ES256, keys in a DID document).

``oidc-provider-mock`` cannot be used: it authenticates any client (no ``private_key_jwt``),
has no PKCE and no way to sign an identity claim. Nothing here skips the protocol: tests
choose who signs in (``provider.login(...)``) and, to see the relying party refuse, may ask the
provider to misbehave (``provider.faults``) - a wrong audience, an expired token, a token signed
by another key - the way a compromised or misconfigured provider would.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from shareguard.signin.identity import CORE_IDENTITY_CLAIM
from shareguard.signin.oauth_server import Server

#: Ways the provider can be asked to misbehave, each once per sign-in that uses it.
FAULTS = {
    "bad_signature",  # the ID token signed by a key not in the JWKS
    "wrong_aud",  # the ID token issued to another client
    "expired",  # the ID token expired an hour ago
    "other_nonce",  # the ID token carries a nonce from another request
    "no_identity",  # /userinfo without the identity claim
    "bad_identity_signature",  # the identity claim signed by another key
    "wrong_vot",  # the ID token at a lower authentication level
}


@dataclass
class Login:
    """Who signs in next: the ``sub``, extra ID token claims and /userinfo claims."""

    sub: str
    id_claims: dict[str, Any] = field(default_factory=dict)
    userinfo: dict[str, Any] = field(default_factory=dict)
    #: One Login's verified identity: (given, family, date of birth ISO) or None.
    identity: tuple[str, str, str] | None = None


@dataclass
class Registered:
    client_id: str
    jwks: dict[str, Any]
    redirect_uris: list[str]

    # Authlib's ClientMixin
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "email", "profile", "groups"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "private_key_jwt"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    login: Login
    created: float = field(default_factory=time.time)

    def is_expired(self) -> bool:
        return time.time() - self.created > 60

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.created)

    def get_acr(self) -> str | None:
        return self.login.id_claims.get("acr")

    def get_amr(self) -> list[str] | None:
        return self.login.id_claims.get("amr")


class ClientAssertion(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, provider: TestProvider) -> None:
        super().__init__()
        self.provider = provider

    def get_audiences(self) -> list[str]:
        return [self.provider.url + "/token", self.provider.url]

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        if jti in self.provider.seen_jtis:
            return False
        self.provider.seen_jtis.add(jti)
        return True

    def resolve_client_public_key(self, client: Registered) -> KeySet:
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]


class TestProvider:
    """One provider; ``url`` is set once it serves (see ``serve`` in tests/signin/conftest)."""

    __test__ = False

    def __init__(self) -> None:
        self.url = ""
        self.signing_key = RSAKey.generate_key(2048, {"use": "sig", "alg": "RS256"}, True)
        self.signing_key.ensure_kid()
        self.other_key = RSAKey.generate_key(2048, {"alg": "RS256"}, True)
        self.other_key.ensure_kid()
        self.identity_key = ECKey.generate_key("P-256", {"alg": "ES256"}, True)
        self.identity_key.ensure_kid()
        self.other_identity_key = ECKey.generate_key("P-256", {"alg": "ES256"}, True)
        self.clients: dict[str, Registered] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Login] = {}
        #: The client each access token was issued to (the identity claim's audience).
        self.token_clients: dict[str, str] = {}
        self.seen_jtis: set[str] = set()
        self.seen_nonces: set[str] = set()
        self.next: Login | None = None
        self.faults: set[str] = set()
        #: The authorisation requests received (their parameters), newest last.
        self.requests: list[dict[str, str]] = []
        self.server = self._server()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/.well-known/did.json", self.did),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize, methods=["GET"]),
                Route("/authorize", self.approve, methods=["POST"]),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo, methods=["GET"]),
            ]
        )

    # configuration ---------------------------------------------------------------------
    def register(self, client_id: str, jwks: dict[str, Any], redirect_uris: list[str]) -> None:
        self.clients[client_id] = Registered(client_id, jwks, redirect_uris)

    def login(self, login: Login) -> None:
        """The account that signs in at the next authorisation request."""
        self.next = login

    @property
    def identity_issuer(self) -> str:
        return self.url + "/identity"

    # Authlib ---------------------------------------------------------------------------
    def _server(self) -> Server:
        provider = self

        class Grant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]

            def save_authorization_code(self, code: str, request: Any) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=data.get("redirect_uri", ""),
                    scope=request.scope or "",
                    nonce=data.get("nonce", ""),
                    code_challenge=data.get("code_challenge", ""),
                    code_challenge_method=data.get("code_challenge_method", ""),
                    login=request.user,
                )

            def query_authorization_code(self, code: str, client: Registered) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> Login:
                return authorization_code.login

        class OpenID(OpenIDCode):  # type: ignore[misc]
            def exists_nonce(self, nonce: str, request: Any) -> bool:
                return nonce in provider.seen_nonces

            def resolve_client_private_key(self, client: Registered) -> RSAKey:
                return provider.signing_key

            def get_client_algorithm(self, client: Registered) -> str:
                return "RS256"

            def get_encode_header(self, client: Registered) -> dict[str, str]:
                return {"alg": "RS256", "kid": provider.signing_key.kid or ""}

            def get_client_claims(self, client: Registered) -> dict[str, Any]:
                return {"iss": provider.url, "aud": [client.client_id], "exp": time.time() + 300}

            def generate_user_info(self, user: Login, scope: str) -> dict[str, Any]:
                claims = {"sub": user.sub}
                claims.update({k: v for k, v in user.id_claims.items() if k not in ("amr", "acr")})
                return claims

        server = Server(scopes_supported=["openid", "email", "profile", "groups"])
        server.query_client = self.clients.get  # type: ignore[method-assign]
        server.save_token = self._save_token  # type: ignore[method-assign]
        server.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(32))
        )
        server.register_client_auth_method("private_key_jwt", ClientAssertion(self))
        server.register_grant(Grant, [OpenID(require_nonce=True), CodeChallenge(required=True)])
        return server

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        self.tokens[token["access_token"]] = request.user
        self.token_clients[token["access_token"]] = request.client.client_id

    # endpoints -------------------------------------------------------------------------
    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": self.url + "/authorize",
                "token_endpoint": self.url + "/token",
                "jwks_uri": self.url + "/jwks",
                "userinfo_endpoint": self.url + "/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "code_challenge_methods_supported": ["S256"],
                "vtr_values_supported": ["Cl.Cm", "Cl.Cm.P2"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.signing_key]).as_dict(private=False))

    async def did(self, request: Request) -> Response:
        """The identity key as a DID document, as One Login publishes it."""
        jwk = self.identity_key.as_dict(private=False)
        kid = jwk.pop("kid")
        return JSONResponse(
            {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": "did:web:provider.test",
                "assertionMethod": [
                    {
                        "type": "JsonWebKey",
                        "id": kid,
                        "controller": "did:web:provider.test",
                        "publicKeyJwk": jwk,
                    }
                ],
            }
        )

    async def authorize(self, request: Request) -> Response:
        """The provider's sign-in page: who will sign in, and a Continue button."""
        params = dict(request.query_params)
        self.requests.append(params)
        try:
            self.server.get_consent_grant((request, None), end_user=self.next)
        except Exception as exc:  # an invalid request is shown, not redirected
            return HTMLResponse(f"<h1>Invalid request</h1><p>{html.escape(str(exc))}</p>", 400)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        who = html.escape(self.next.sub if self.next else "nobody")
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><title>Test provider</title></head><body>"
            f"<main><h1>Test OpenID provider</h1><p>Signing in as {who}.</p>"
            f"<form method='post' action='/authorize'>{hidden}"
            "<button type='submit'>Continue</button></form></main></body></html>"
        )

    async def approve(self, request: Request) -> Response:
        form = await request.form()
        nonce = form.get("nonce")
        answer: Response = self.server.create_authorization_response(
            (request, form),
            grant_user=self.next,
            grant=self.server.get_consent_grant((request, form), end_user=self.next),
        )
        if isinstance(nonce, str):
            self.seen_nonces.add(nonce)
        return answer

    async def token(self, request: Request) -> Response:
        form = await request.form()
        answer: Response = self.server.create_token_response((request, form))
        if answer.status_code == 200 and self.faults & {
            "bad_signature",
            "wrong_aud",
            "expired",
            "other_nonce",
            "wrong_vot",
        }:
            answer = self._misbehave(answer)
        return answer

    def _misbehave(self, answer: Response) -> Response:
        import json

        body = json.loads(bytes(answer.body))
        token = jwt.decode(body["id_token"], self.signing_key)
        claims, key = dict(token.claims), self.signing_key
        if "bad_signature" in self.faults:
            key = self.other_key
        if "wrong_aud" in self.faults:
            claims["aud"] = ["someone-else"]
        if "expired" in self.faults:
            claims["exp"], claims["iat"] = int(time.time()) - 3600, int(time.time()) - 7200
        if "other_nonce" in self.faults:
            claims["nonce"] = secrets.token_urlsafe(16)
        if "wrong_vot" in self.faults:
            claims["vot"] = "Cl"
        header = {"alg": "RS256", "kid": self.signing_key.kid}
        body["id_token"] = jwt.encode(header, claims, key)
        return JSONResponse(body)

    async def userinfo(self, request: Request) -> Response:
        bearer = request.headers.get("authorization", "")
        token = bearer[7:] if bearer.lower().startswith("bearer ") else ""
        login = self.tokens.get(token)
        if login is None:
            return JSONResponse({"error": "invalid_token"}, 401)
        info: dict[str, Any] = {"sub": login.sub, **login.userinfo}
        if login.identity is not None and "no_identity" not in self.faults:
            info[CORE_IDENTITY_CLAIM] = self.identity_jwt(login, self.token_clients[token])
        return JSONResponse(info)

    def identity_jwt(self, login: Login, client_id: str) -> str:
        assert login.identity is not None
        given, family, born = login.identity
        now = int(time.time())
        claims = {
            "iss": self.identity_issuer,
            "sub": login.sub,
            "aud": client_id,
            "nbf": now,
            "iat": now,
            "exp": now + 300,
            "vot": "P2",
            "vtm": self.url + "/trustmark",
            "vc": {
                "type": ["VerifiableCredential", "IdentityCheckCredential"],
                "credentialSubject": {
                    "name": [
                        {
                            "nameParts": [
                                *({"type": "GivenName", "value": g} for g in given.split()),
                                {"type": "FamilyName", "value": family},
                            ]
                        }
                    ],
                    "birthDate": [{"value": born}],
                },
            },
        }
        key = (
            self.other_identity_key
            if "bad_identity_signature" in self.faults
            else self.identity_key
        )
        return jwt.encode({"alg": "ES256", "kid": self.identity_key.kid}, claims, key)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test provider did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def authorise(provider_url_with_query: str, http: Any) -> str:
    """Follow the provider's sign-in page as a browser would: returns the callback URL."""
    page = http.get(provider_url_with_query)
    assert page.status_code == 200, page.text
    from urllib.parse import parse_qsl, urlsplit

    params = dict(parse_qsl(urlsplit(provider_url_with_query).query))
    done = http.post(provider_url_with_query.split("?")[0], data=params)
    assert done.status_code == 302, done.text
    return str(done.headers["location"])


__all__ = ["FAULTS", "Login", "TestProvider", "authorise", "serve"]

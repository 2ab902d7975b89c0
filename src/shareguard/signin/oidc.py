"""OpenID Connect relying party: discovery, the authorisation request (``state``, ``nonce``,
PKCE), the code exchange with ``private_key_jwt``, ID token validation and ``/userinfo``.

Glue around Authlib's parts (the grant URI, the S256 challenge, the signed client assertion,
the ID token's claims rules) and joserfc (signature checks against the provider's JWKS): no
JWT is signed or checked by hand here. Network calls go through one ``httpx`` client with a
short timeout; discovery documents and key sets are cached per process and a key set is
fetched again when a token names a key it does not hold (the provider rotated its keys).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from shareguard.errors import ShareguardError

#: Seconds to wait for a provider before giving up (a sign-in page must not hang).
HTTP_TIMEOUT = 10.0
#: How long a discovery document or key set is trusted before it is fetched again.
CACHE_SECONDS = 3600.0
#: A key set is fetched again for an unknown ``kid`` at most this often (no fetch storms).
REFETCH_SECONDS = 30.0
#: Clock skew allowed on ``exp``, ``iat`` and ``nbf``.
LEEWAY = 60
#: Signature algorithms accepted on tokens (never ``none``, never HMAC with a public key).
ALGORITHMS = ["RS256", "PS256", "ES256", "RS384", "RS512", "PS384", "PS512", "ES384"]


class SignInFailed(ShareguardError):
    """A sign-in through a provider did not work. ``reason`` is a short code for the audit
    entry (``state``, ``token``, ``id_token_signature``, ``id_token_aud``, ...); the message
    says what the person can do, never what was in a token."""

    status = 400
    title = "Sign-in did not work"
    slug = "sign-in-failed"

    def __init__(self, reason: str, detail: str = "signing in did not work; try again") -> None:
        super().__init__(detail)
        self.reason = reason
        #: Set when the refusal is audited: a short reference the person can quote.
        self.reference = ""


@dataclass(frozen=True)
class Provider:
    """What discovery says about a provider (the metadata this relying party needs)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Client:
    """shareguard as a registered client of one provider."""

    issuer: str
    client_id: str
    #: Signs the client assertion (``private_key_jwt``) ...
    key: RSAKey | None = None
    #: ... or, for a provider that only offers it, a client secret (``client_secret_basic``).
    secret: str = ""


@dataclass(frozen=True)
class Pending:
    """One authorisation request's secrets: sent (``state``, ``nonce``, the PKCE challenge)
    and kept server-side until the provider answers (the verifier)."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def new(cls) -> Pending:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))


def state_hash(state: str) -> str:
    """How a pending request is found without storing its ``state``."""
    return hashlib.sha256(f"oidc-state:{state}".encode()).hexdigest()


# --- fetching, with caches ------------------------------------------------------------------
_lock = threading.Lock()
_documents: dict[str, tuple[float, Any]] = {}
_last_refetch: dict[str, float] = {}


def _get_json(url: str, *, headers: dict[str, str] | None = None, reason: str) -> Any:
    try:
        answer = httpx.get(url, headers=headers, timeout=HTTP_TIMEOUT, follow_redirects=False)
        answer.raise_for_status()
        return answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInFailed(
            reason, "the sign-in service could not be reached; try again later"
        ) from exc


def fetch_cached(url: str, *, reason: str, fresh: bool = False) -> Any:
    """The JSON document at ``url``, from this process's cache when recent enough."""
    now = time.monotonic()
    with _lock:
        hit = _documents.get(url)
        if hit and not fresh and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    document = _get_json(url, reason=reason)
    with _lock:
        _documents[url] = (now, document)
    return document


def forget_cached() -> None:
    """Drop every cached document (tests that restart a provider; key rotation drills)."""
    with _lock:
        _documents.clear()
        _last_refetch.clear()


def discover(issuer: str) -> Provider:
    """The provider's metadata from ``<issuer>/.well-known/openid-configuration``.

    SignInFailed (``discovery``) if it cannot be had or names another issuer.
    """
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    meta = fetch_cached(url, reason="discovery")
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(meta, dict) or any(not isinstance(meta.get(k), str) for k in needed):
        raise SignInFailed("discovery", "the sign-in service is misconfigured; try again later")
    if meta["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise SignInFailed("discovery", "the sign-in service is misconfigured; try again later")
    return Provider(
        issuer=meta["issuer"],
        authorization_endpoint=meta["authorization_endpoint"],
        token_endpoint=meta["token_endpoint"],
        jwks_uri=meta["jwks_uri"],
        userinfo_endpoint=meta.get("userinfo_endpoint"),
        end_session_endpoint=meta.get("end_session_endpoint"),
        metadata=meta,
    )


def key_set(url: str, kid: str | None, *, reason: str, parse: Any = None) -> KeySet:
    """The key set at ``url`` (a JWKS, or what ``parse`` makes of the document), fetched
    again if it lacks ``kid`` and it was not fetched again in the last ``REFETCH_SECONDS``."""
    parse = parse or KeySet.import_key_set
    try:
        keys: KeySet = parse(fetch_cached(url, reason=reason))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SignInFailed(reason, "the sign-in service is misconfigured; try again") from exc
    if kid is None or any(k.kid == kid for k in keys):
        return keys
    now = time.monotonic()
    with _lock:
        recent = now - _last_refetch.get(url, -REFETCH_SECONDS) < REFETCH_SECONDS
        if not recent:
            _last_refetch[url] = now
    if recent:
        return keys
    try:
        refreshed: KeySet = parse(fetch_cached(url, reason=reason, fresh=True))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SignInFailed(reason, "the sign-in service is misconfigured; try again") from exc
    return refreshed


def token_kid(token: str) -> str | None:
    try:
        header = json.loads(_b64(token.split(".", 1)[0]))
    except (ValueError, IndexError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def _b64(part: str) -> bytes:

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# --- the flow -------------------------------------------------------------------------------
def authorization_url(
    client: Client,
    provider: Provider,
    pending: Pending,
    redirect_uri: str,
    *,
    scope: str = "openid",
    **extra: str,
) -> str:
    """Where to send the browser: the authorisation endpoint with ``state``, ``nonce`` and
    the S256 code challenge, plus ``extra`` parameters (``vtr``, ``claims``, ``acr_values``)."""
    return str(
        prepare_grant_uri(
            provider.authorization_endpoint,
            client.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=scope,
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.code_verifier),
            code_challenge_method="S256",
            **extra,
        )
    )


def client_assertion(client: Client, audience: str) -> str:
    """A ``private_key_jwt`` assertion for ``audience`` (the token endpoint), five minutes long."""
    if client.key is None:
        raise ValueError("this client has no key")
    return str(
        private_key_jwt_sign(
            client.key,
            client.client_id,
            audience,
            alg="RS256",
            header={"kid": client.key.kid},
            expires_in=300,
        )
    )


def exchange_code(
    client: Client, provider: Provider, code: str, redirect_uri: str, code_verifier: str
) -> dict[str, Any]:
    """Trade the authorisation code for tokens at the token endpoint, authenticating with the
    client's signed assertion (or its secret). SignInFailed (``token``) on any refusal."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client.client_id,
        "code_verifier": code_verifier,
    }
    auth: tuple[str, str] | None = None
    if client.key is not None:
        form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        form["client_assertion"] = client_assertion(client, provider.token_endpoint)
    else:
        auth = (client.client_id, client.secret)
    try:
        answer = httpx.post(
            provider.token_endpoint,
            data=form,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=HTTP_TIMEOUT,
            follow_redirects=False,
        )
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInFailed("token", "the sign-in service did not answer; try again") from exc
    if answer.status_code != 200 or not isinstance(body, dict):
        raise SignInFailed("token")
    if not isinstance(body.get("id_token"), str) or not isinstance(body.get("access_token"), str):
        raise SignInFailed("token")
    return body


def validate_id_token(
    client: Client,
    provider: Provider,
    id_token: str,
    *,
    nonce: str,
    access_token: str | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature (from the provider's JWKS), ``iss``, ``aud``,
    ``exp``, ``iat``, ``nonce``, ``azp`` and ``at_hash`` are checked.

    SignInFailed with ``reason`` ``id_token_signature`` or ``id_token_<claim>`` otherwise.
    """
    keys = key_set(provider.jwks_uri, token_kid(id_token), reason="jwks")
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except JoseError as exc:
        raise SignInFailed("id_token_signature") from exc
    claims = CodeIDToken(
        token.claims,
        token.header,
        options={
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": client.client_id},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        },
        params={"nonce": nonce, "client_id": client.client_id, "access_token": access_token},
    )
    try:
        claims.validate(now=now, leeway=LEEWAY)
    except JoseError as exc:
        claim = getattr(exc, "claim", None) or "claims"
        raise SignInFailed(f"id_token_{claim}") from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SignInFailed("id_token_sub")
    return dict(claims)


def redeem(
    client: Client, issuer: str, pending: Pending, code: str, error: str, redirect_uri: str
) -> tuple[Provider, dict[str, Any], dict[str, Any]]:
    """The provider's answer to ``pending``, checked: (provider, tokens, the ID token's claims).

    SignInFailed with a reason code when the provider refused (``error``: the person cancelled,
    say), sent no code, or its tokens do not hold.
    """
    if error:
        reason = "".join(c for c in error if c.isalnum() or c == "_")[:40]
        raise SignInFailed(f"provider_{reason}")
    if not code:
        raise SignInFailed("code")
    provider = discover(issuer)
    tokens = exchange_code(client, provider, code, redirect_uri, pending.code_verifier)
    claims = validate_id_token(
        client,
        provider,
        tokens["id_token"],
        nonce=pending.nonce,
        access_token=tokens["access_token"],
    )
    return provider, tokens, claims


def userinfo(provider: Provider, access_token: str, sub: str) -> dict[str, Any]:
    """The claims ``/userinfo`` returns for the access token; SignInFailed (``userinfo``) if
    it cannot be had or names another subject than the ID token did."""
    if not provider.userinfo_endpoint:
        raise SignInFailed("userinfo", "the sign-in service is misconfigured; try again later")
    info = _get_json(
        provider.userinfo_endpoint,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        reason="userinfo",
    )
    if not isinstance(info, dict) or info.get("sub") != sub:
        raise SignInFailed("userinfo")
    return info

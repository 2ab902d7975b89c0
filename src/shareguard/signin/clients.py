"""Partners' machine clients: OAuth 2.0 client credentials with a signed JWT (RFC 7523). Never
commits.

An organisation registers a public key (a JWK: never a private one, never a URL to fetch: a
key set URL would have shareguard call out to wherever a partner points it, and fail when
that host does). The client signs an assertion (``iss`` = ``sub`` = its client id, ``aud`` =
shareguard's token endpoint, ``exp`` at most five minutes ahead, a fresh ``jti``) and trades
it at ``POST /api/v1/oauth/token`` for a short-lived access token carrying the client's
organisation and agreement scope. Authlib's authorisation server does the protocol
(``ClientCredentialsGrant``, ``JWTBearerClientAssertion``); this module supplies the storage
around it: the client's key, the ``jti`` seen (kept until the assertion expires, so a replay
is refused), the token's hash. Expiry, revocation and agreement scope behave as for API keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import InsecureTransportError, InvalidClientError, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from shareguard.accounts.models import Role
from shareguard.accounts.principal import Principal
from shareguard.accounts.service import SYSTEM
from shareguard.audit import AuditRecord, append
from shareguard.errors import InvalidInput, NotFound, Unauthenticated
from shareguard.signin.models import AccessToken, ClientAssertion, ClientKey
from shareguard.signin.oauth_server import Server
from shareguard.signin.staff import audit_sign_in
from shareguard.signin.throttle import ACCOUNT_LIMIT, Throttle
from shareguard.storage.base import utcnow

#: Access tokens start with this, so the API tells them from API keys (``sg_...``).
TOKEN_PREFIX = "sgat_"
CLIENT_PREFIX = "sgc_"
#: The longest an assertion may live (``exp`` from now), as GOV.UK One Login also asks.
ASSERTION_SECONDS = 300
#: Clock skew allowed on an assertion's ``exp``.
LEEWAY = 30
#: Signature algorithms a partner's assertion may use: the asymmetric ones JWA (RFC 7518)
#: recommends, which joserfc accepts by default (never ``none``, never a shared secret).
ALGORITHMS = {"RS256", "ES256"}
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
_CURVES = {"EC": {"P-256"}}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public_key(jwk: object) -> dict[str, Any]:
    """``jwk`` checked and normalised to a public JWK with a ``kid`` (its RFC 7638 thumbprint
    when it has none): RSA of 2048 bits or more (RS256) or EC P-256 (ES256). InvalidInput for
    a private key, a symmetric key, a short RSA key, another curve or algorithm, or anything
    joserfc cannot import."""
    if not isinstance(jwk, dict):
        raise InvalidInput("give the client's public key as a JWK (a JSON object)", field="jwk")
    if "keys" in jwk:
        raise InvalidInput("give one key (a JWK), not a key set", field="jwk")
    if _PRIVATE_MEMBERS & set(jwk):
        raise InvalidInput(
            "this is a private or symmetric key: register only the public half, and keep the "
            "private key with the client",
            field="jwk",
        )
    kty = jwk.get("kty")
    if kty not in {"RSA", "EC"}:
        raise InvalidInput("the key type (kty) must be RSA or EC", field="jwk.kty")
    if kty in _CURVES and jwk.get("crv") not in _CURVES[kty]:
        raise InvalidInput(
            f"the curve (crv) must be one of {', '.join(sorted(_CURVES[kty]))}", field="jwk.crv"
        )
    if "alg" in jwk and jwk["alg"] not in ALGORITHMS:
        raise InvalidInput(
            f"the algorithm (alg) must be one of {', '.join(sorted(ALGORITHMS))}", field="jwk.alg"
        )
    if jwk.get("use", "sig") != "sig":
        raise InvalidInput("the key's use must be sig (signing)", field="jwk.use")
    try:
        key = JWKRegistry.import_key(jwk)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidInput("not a valid public key (JWK)", field="jwk") from exc
    if kty == "RSA" and key.raw_value.key_size < 2048:  # type: ignore[union-attr]
        raise InvalidInput("an RSA key must have at least 2048 bits", field="jwk.n")
    key.ensure_kid()
    return dict(key.as_dict(private=False))


def client_principal(client: ClientKey, agreement_ids: list[str]) -> Principal:
    scope = frozenset(uuid.UUID(a) for a in agreement_ids) if agreement_ids else None
    return Principal(
        organisation_id=client.organisation_id,
        roles=frozenset({Role.PARTNER_USER}),
        client_key_id=client.id,
        agreement_scope=scope,
    )


class ClientService:
    """Registering, listing and revoking partner clients; checking their access tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # registration -----------------------------------------------------------------------
    def register(
        self,
        organisation_id: uuid.UUID,
        name: str,
        jwk: object,
        *,
        agreement_ids: list[uuid.UUID] | None = None,
        expires_at: datetime | None = None,
        principal: Principal = SYSTEM,
    ) -> ClientKey:
        """A new client of ``organisation_id`` with the public key ``jwk`` (audited as
        ``client.register``). InvalidInput for a bad key or a past expiry."""
        if not name.strip() or len(name) > 200:
            raise InvalidInput("give the client a name of 1 to 200 characters", field="name")
        key = public_key(jwk)
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise InvalidInput("give the expiry with a UTC offset", field="expires_at")
            if expires_at <= utcnow():
                raise InvalidInput("a client's expiry must be in the future", field="expires_at")
        client = ClientKey(
            organisation_id=organisation_id,
            client_id=CLIENT_PREFIX + secrets.token_hex(12),
            name=name,
            jwk=key,
            agreement_ids=[str(a) for a in agreement_ids or []],
            expires_at=expires_at,
        )
        self.session.add(client)
        self.session.flush()
        self._audit("client.register", client, principal, kid=str(key.get("kid", "")))
        return client

    def may_manage(self, principal: Principal, client: ClientKey) -> bool:
        """As for API keys: a governance officer any client; an organisation its own, within
        its agreement scope."""
        if principal.has(Role.GOVERNANCE_OFFICER):
            return True
        if principal.organisation_id != client.organisation_id:
            return False
        if principal.agreement_scope is not None:
            scope = {uuid.UUID(a) for a in client.agreement_ids}
            return bool(scope) and scope <= principal.agreement_scope
        return True

    def clients(self, organisation_id: uuid.UUID, principal: Principal = SYSTEM) -> list[ClientKey]:
        rows = self.session.scalars(
            select(ClientKey)
            .where(ClientKey.organisation_id == organisation_id)
            .order_by(ClientKey.created_at)
        )
        return [c for c in rows if self.may_manage(principal, c)]

    def client(self, client_key_id: uuid.UUID, principal: Principal = SYSTEM) -> ClientKey:
        """The client, if ``principal`` may manage it; NotFound otherwise (same as none)."""
        client = self.session.get(ClientKey, client_key_id)
        if client is None or not self.may_manage(principal, client):
            raise NotFound(f"client {client_key_id} not found")
        return client

    def revoke(self, client_key_id: uuid.UUID, principal: Principal = SYSTEM) -> ClientKey:
        """Revoke at once: its access tokens stop working too (audited as ``client.revoke``)."""
        client = self.client(client_key_id, principal)
        if client.revoked_at is None:
            client.revoked_at = utcnow()
            self._audit("client.revoke", client, principal)
            self.session.flush()
        return client

    def _audit(self, action: str, client: ClientKey, principal: Principal, **extra: str) -> None:
        append(
            self.session,
            AuditRecord(
                action=action,
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                details={
                    "client_key_id": str(client.id),
                    "client_id": client.client_id,
                    "organisation_id": str(client.organisation_id),
                    "agreement_ids": sorted(client.agreement_ids),
                    **extra,
                },
            ),
        )

    # access tokens ----------------------------------------------------------------------
    def authenticate_token(self, token: str) -> Principal:
        """The principal an access token stands for; Unauthenticated for any bad token."""
        now = utcnow()
        row = self.session.execute(
            select(AccessToken, ClientKey)
            .join(ClientKey, ClientKey.id == AccessToken.client_key_id)
            .where(AccessToken.token_hash == _hash(token))
        ).one_or_none()
        if row is None:
            raise Unauthenticated("access token not recognised")
        access, client = row
        if _aware(access.expires_at) <= now:
            raise Unauthenticated("access token expired; ask the token endpoint for a new one")
        if client.revoked_at is not None:
            raise Unauthenticated("the client of this access token is revoked")
        if client.expires_at is not None and _aware(client.expires_at) <= now:
            raise Unauthenticated("the client of this access token has expired")
        return client_principal(client, access.agreement_ids)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# the token endpoint ------------------------------------------------------------------------
@dataclass
class _Client:
    """A registered client as Authlib's server sees it (its ClientMixin)."""

    row: ClientKey

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return ""  # the token's scope is the client's agreements, never asked for

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "private_key_jwt"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


@dataclass
class _Outcome:
    """What one token request came to, for its audit entry."""

    client: ClientKey | None = None
    reason: str = ""
    issued: list[AccessToken] = field(default_factory=list)


class _Grant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]


class _Assertion(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, endpoint: TokenEndpoint) -> None:
        super().__init__(leeway=LEEWAY)
        self.endpoint = endpoint

    def get_audiences(self) -> list[str]:
        return [self.endpoint.audience]

    def resolve_client_public_key(self, client: _Client) -> Any:
        return JWKRegistry.import_key(client.row.jwk)  # type: ignore[arg-type]

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        header_alg = self._alg(assertion)
        if header_alg not in ALGORITHMS:
            self.endpoint.outcome.reason = "algorithm"
            raise InvalidClientError(description="the assertion's algorithm is not accepted")
        self.endpoint.outcome.reason = "signature"  # until joserfc has checked it
        return super().process_assertion_claims(assertion, resolve_key)

    @staticmethod
    def _alg(assertion: str) -> str:

        try:
            part = assertion.split(".", 1)[0]
            header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except (ValueError, IndexError):
            return ""
        alg = header.get("alg") if isinstance(header, dict) else None
        return alg if isinstance(alg, str) else ""

    def verify_claims(self, claims: Any) -> None:
        # The signature held (joserfc checked it before the claims); now each claim.
        self.endpoint.outcome.reason = "claims"
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if self.endpoint.audience not in audiences:
            self.endpoint.outcome.reason = "aud"
            raise InvalidClientError(description="the assertion's aud must be the token endpoint")
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            self.endpoint.outcome.reason = "exp"
            raise InvalidClientError(description="the assertion needs an exp")
        now = time.time()
        if exp <= now - LEEWAY:
            self.endpoint.outcome.reason = "expired"
            raise InvalidClientError(description="the assertion has expired")
        if exp > now + ASSERTION_SECONDS + LEEWAY:
            self.endpoint.outcome.reason = "lifetime"
            raise InvalidClientError(
                description=f"the assertion's exp may be at most {ASSERTION_SECONDS} s ahead"
            )
        if not isinstance(claims.get("jti"), str):
            self.endpoint.outcome.reason = "jti"
            raise InvalidClientError(description="the assertion needs a jti")
        super().verify_claims(claims)

    def validate_jti(self, claims: dict[str, Any], jti: Any) -> bool:
        self.endpoint.outcome.reason = "replay"
        if not isinstance(jti, str) or not 8 <= len(jti) <= 255:
            self.endpoint.outcome.reason = "jti"
            return False
        return self.endpoint.remember_jti(jti, float(claims["exp"]))


class TokenEndpoint:
    """``POST /api/v1/oauth/token`` for one request: Authlib's server over this session."""

    def __init__(
        self,
        session: Session,
        audience: str,
        token_seconds: int,
        throttle: Throttle,
        address: str,
    ) -> None:
        self.session = session
        self.audience = audience
        self.token_seconds = token_seconds
        self.throttle = throttle
        #: The caller's address as a keyed hash (``Throttle.key``).
        self.address = address
        self.outcome = _Outcome()
        self.server = Server()
        self.server.query_client = self._query_client
        self.server.save_token = self._save_token
        self.server.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_: TOKEN_PREFIX + secrets.token_urlsafe(32),
                expires_generator=lambda client, grant_type: self.token_seconds,
            ),
        )
        self.server.register_client_auth_method("private_key_jwt", _Assertion(self))
        self.server.register_grant(_Grant)

    def _query_client(self, client_id: str) -> _Client | None:
        row = self.session.scalar(select(ClientKey).where(ClientKey.client_id == client_id))
        if row is None:
            return None
        self.outcome.client = row
        if row.revoked_at is not None:
            self.outcome.reason = "revoked"
            return None
        if row.expires_at is not None and _aware(row.expires_at) <= utcnow():
            self.outcome.reason = "client_expired"
            return None
        return _Client(row)

    def remember_jti(self, jti: str, exp: float) -> bool:
        """Record ``jti`` for the client until ``exp``; False if it was seen (a replay)."""
        client = self.outcome.client
        assert client is not None
        now = utcnow()
        self.session.execute(delete(ClientAssertion).where(ClientAssertion.expires_at < now))
        seen = self.session.scalar(
            select(ClientAssertion.id).where(
                ClientAssertion.client_key_id == client.id, ClientAssertion.jti == jti
            )
        )
        if seen is not None:
            return False
        expires = datetime.fromtimestamp(exp, UTC) + timedelta(seconds=LEEWAY)
        try:
            with self.session.begin_nested():
                self.session.add(
                    ClientAssertion(client_key_id=client.id, jti=jti, expires_at=expires)
                )
        except IntegrityError:  # the same assertion, sent twice at once
            return False
        return True

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        client: ClientKey = request.client.row
        now = utcnow()
        self.session.execute(delete(AccessToken).where(AccessToken.expires_at < now))
        access = AccessToken(
            token_hash=_hash(token["access_token"]),
            client_key_id=client.id,
            agreement_ids=list(client.agreement_ids),
            expires_at=now + timedelta(seconds=self.token_seconds),
        )
        self.session.add(access)
        client.last_used_at = now
        self.outcome.issued.append(access)

    def respond(self, request: Request, form: FormData, public_uri: str = "") -> Response:
        """Authlib's answer to the token request, audited when it names a registered client.

        ``public_uri``: the endpoint's URL as clients call it (``SHAREGUARD_PUBLIC_URL``);
        Authlib refuses a token request over plain HTTP other than on loopback. RateLimited
        (429) once the caller's address has failed too often (``signin.throttle``).
        """
        self.throttle.check(None, self.address)
        try:
            answer: Response = self.server.create_token_response((request, form, public_uri))
        except InsecureTransportError as exc:
            return self.server.handle_response(*exc())
        client = self.outcome.client
        if answer.status_code == 200 and client is not None and self.outcome.issued:
            self.session.flush()
            audit_sign_in(
                self.session,
                ok=True,
                kind="partner_client",
                details={
                    "client_key_id": str(client.id),
                    "organisation_id": str(client.organisation_id),
                    "access_token_id": str(self.outcome.issued[0].id),
                },
            )
            return answer
        account = self.throttle.key("client", client.client_id) if client else None
        failures = self.throttle.failed(account, self.address)
        # A client's id is no secret: anyone may send assertions naming it. Its failures are
        # audited up to the throttle's account limit per window (the last one says so), so a
        # flood cannot grow the log, and the client is never locked out by strangers.
        if client is not None and failures <= ACCOUNT_LIMIT:
            audit_sign_in(
                self.session,
                ok=False,
                kind="partner_client",
                details={
                    "client_key_id": str(client.id),
                    "reason": self.outcome.reason or "request",
                    "failures": failures,
                    "quiet": failures == ACCOUNT_LIMIT,
                },
            )
        return answer


__all__ = ["ClientService", "TokenEndpoint", "public_key"]

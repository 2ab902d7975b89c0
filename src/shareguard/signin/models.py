"""Server-side sign-in state: one-time codes, sessions, pending OpenID requests, identity
links, and partners' client keys with the access tokens issued to them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, CreatedMixin, IdMixin


class SignInCode(IdMixin, CreatedMixin, Base):
    """One one-time code sent to a person: its keyed hash, expiry and attempts, never the code."""

    __tablename__ = "sign_in_codes"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    #: HMAC-SHA256 of the code under the deployment's secret, bound to this row's id.
    digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()
    #: Guesses made so far; the code is locked once it reaches ``CODE_TRIES``.
    attempts: Mapped[int] = mapped_column(default=0)
    #: Set when the right code was entered: a code signs in once.
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class SignInSession(IdMixin, CreatedMixin, Base):
    """A signed-in browser, server-side: the cookie carries a random token, this its hash.

    Ending the row ends the session at once, whatever the cookie says: signing out, a
    password change ("sign out everywhere"), or running out of time.
    """

    __tablename__ = "sign_in_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: A member of staff or a partner user (console) ...
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id"), index=True, default=None
    )
    #: ... or the person signed in to the person-facing service.
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id"), index=True, default=None
    )
    last_seen_at: Mapped[datetime] = mapped_column()
    #: The absolute end, however active the session is.
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    #: sign_out | password_change | roles_changed | sign_out_everywhere
    end_reason: Mapped[str | None] = mapped_column(String(30), default=None)


class SignInFailure(IdMixin, Base):
    """One failed sign-in, counted against an account and a client address (both keyed
    hashes: neither an email, a document number nor an address is stored)."""

    __tablename__ = "sign_in_failures"

    #: ``account`` or ``address``.
    scope: Mapped[str] = mapped_column(String(10))
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)


class OidcRequest(IdMixin, CreatedMixin, Base):
    """One authorisation request sent to a provider, waiting for its answer.

    Found by a hash of its ``state`` (the browser holds the state itself); the nonce and the
    PKCE verifier stay here, and are wiped when the answer is used: a state answers once.
    """

    __tablename__ = "oidc_requests"

    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``person`` or ``staff``.
    kind: Mapped[str] = mapped_column(String(10))
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(100))
    #: Where to go once signed in (a local path).
    next_url: Mapped[str] = mapped_column(String(500), default="")
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class IdentityLink(IdMixin, CreatedMixin, Base):
    """A provider's account (issuer and ``sub``) linked to a person or a member of staff."""

    __tablename__ = "identity_links"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id"), index=True, default=None
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id"), index=True, default=None
    )
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class ClientKey(IdMixin, CreatedMixin, Base):
    """A partner's public key (JWK) for OAuth 2.0 client credentials with signed assertions
    (RFC 7523): scoped, expiring and revocable exactly as an API key is."""

    __tablename__ = "client_keys"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: The ``iss``/``sub`` of the partner's assertions.
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The public JWK (never a private one: refused at registration).
    jwk: Mapped[dict[str, object]] = mapped_column(JSON)
    #: Agreement ids this client may act under; empty means every agreement of its organisation.
    agreement_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class ClientAssertion(IdMixin, Base):
    """A client assertion's ``jti``, kept until the assertion expires: a replay is refused."""

    __tablename__ = "client_assertions"
    __table_args__ = (UniqueConstraint("client_key_id", "jti"),)

    client_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client_keys.id"))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AccessToken(IdMixin, CreatedMixin, Base):
    """A short-lived access token issued to a partner's client: only its SHA-256 is stored."""

    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client_keys.id"), index=True)
    #: The agreements this token may act under (never wider than its client's).
    agreement_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime] = mapped_column(index=True)

"""Organisations, users, passwords and API keys. The only code that writes these tables."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import uuid
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shareguard.accounts.models import ApiKey, Organisation, OrganisationType, Role, User
from shareguard.accounts.principal import Principal
from shareguard.capabilities import hooks
from shareguard.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthenticated
from shareguard.storage.base import utcnow

_hasher = PasswordHasher()
KEY_PREFIX = "sg"
#: Password hashes computed at once, process-wide: argon2 costs ~170 ms of CPU and much
#: memory, so a flood of sign-ins queues here (then gets 429) instead of taking every core.
ARGON2_SLOTS = 2
_argon2 = threading.BoundedSemaphore(ARGON2_SLOTS)
ARGON2_WAIT_SECONDS = 5.0
#: Who acts when the operator runs a command (the CLI) or the demo seeds itself.
SYSTEM = Principal(
    organisation_id=None,
    roles=frozenset({"governance_officer", "caseworker", "reviewer", "auditor", "system"}),
)


def hash_key_secret(secret: str) -> str:
    # API key secrets are 256-bit random, so a fast hash is safe (no dictionary to guess
    # from); argon2 is kept for human passwords.
    return hashlib.sha256(secret.encode()).hexdigest()


# What authenticating a bearer token reads (every API call): columns, not an ORM object.
_KEY_BY_PREFIX = select(
    ApiKey.id,
    ApiKey.organisation_id,
    ApiKey.user_id,
    ApiKey.secret_hash,
    ApiKey.agreement_ids,
    ApiKey.expires_at,
    ApiKey.revoked_at,
).where(ApiKey.prefix == bindparam("prefix"))


def _check_roles(roles: list[str]) -> None:
    if not roles or set(roles) - set(Role):
        raise InvalidInput(f"roles must be from {', '.join(Role)}", field="roles")


def _check_password(password: str) -> None:
    if len(password) < 10:
        raise InvalidInput("password must be at least 10 characters", field="password")
    if len(password) > 1024:
        raise InvalidInput("password must be 1,024 characters or fewer", field="password")


class AccountService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # organisations -----------------------------------------------------------------
    def create_organisation(self, name: str, type: str) -> Organisation:
        if type not in set(OrganisationType):
            raise InvalidInput(
                f"unknown organisation type; use one of {', '.join(OrganisationType)}", field="type"
            )
        if self.session.scalar(select(Organisation).where(Organisation.name == name)):
            raise Conflict("an organisation with this name exists", field="name")
        org = Organisation(name=name, type=type)
        self.session.add(org)
        self.session.flush()
        return org

    def organisation(self, org_id: uuid.UUID) -> Organisation:
        org = self.session.get(Organisation, org_id)
        if org is None:
            raise NotFound(f"organisation {org_id} not found")
        return org

    def organisation_by_name(self, name: str) -> Organisation:
        org = self.session.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            raise NotFound("no organisation with this name", field="organisation")
        return org

    def organisations(self) -> list[Organisation]:
        return list(self.session.scalars(select(Organisation).order_by(Organisation.name)))

    # users -------------------------------------------------------------------------
    def create_user(
        self,
        organisation_id: uuid.UUID,
        email: str,
        display_name: str,
        roles: list[str],
        password: str,
        *,
        principal: Principal | None = None,
    ) -> User:
        _check_roles(roles)
        _check_password(password)
        if self.session.scalar(select(User).where(User.email == email.lower())):
            raise Conflict("a user with this email exists", field="email")
        user = User(
            organisation_id=organisation_id,
            email=email.lower(),
            display_name=display_name,
            roles=sorted(roles),
            password_hash=_hasher.hash(password),
        )
        self.session.add(user)
        self.session.flush()
        self._audit_user("user.create", user, principal)
        self.session.flush()
        return user

    def authenticate_password(self, email: str, password: str) -> User:
        """The active user with these credentials; Unauthenticated otherwise (same message)."""
        user = self.user_by_email(email)
        if not _argon2.acquire(timeout=ARGON2_WAIT_SECONDS):
            raise RateLimited("the service is busy; try again in a moment", retry_after=5)
        try:
            if user is None or not user.active:
                _hasher.hash(password)  # spend the same time as a real check
                raise VerifyMismatchError
            _hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            raise Unauthenticated("email or password not recognised") from None
        finally:
            _argon2.release()
        return user

    def user_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(User.email == email.lower().strip()))

    def set_password(self, user_id: uuid.UUID, password: str, principal: Principal) -> User:
        """Replace a user's password (audited as ``user.password_change``; never the value).

        Callers also end the user's sessions: ``shareguard.signin.staff.change_password``.
        """
        _check_password(password)
        user = self.user(user_id)
        user.password_hash = _hasher.hash(password)
        self._audit_user("user.password_change", user, principal)
        self.session.flush()
        return user

    def set_roles(self, user_id: uuid.UUID, roles: list[str], principal: Principal) -> User:
        """Replace a user's roles (audited as ``user.roles_change`` with before and after)."""
        _check_roles(roles)
        user = self.user(user_id)
        before = sorted(user.roles)
        user.roles = sorted(set(roles))
        self._audit_user("user.roles_change", user, principal, before=before)
        self.session.flush()
        return user

    def _audit_user(
        self, action: str, user: User, principal: Principal | None, **extra: object
    ) -> None:
        actor = principal or SYSTEM
        self._append(
            action=action,
            actor_org_id=actor.organisation_id,
            actor_user_id=actor.user_id,
            details={
                "user_id": str(user.id),
                "organisation_id": str(user.organisation_id),
                "roles": sorted(user.roles),
                **extra,
            },
        )

    def user(self, user_id: uuid.UUID) -> User:
        user = self.session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        return user

    def principal_for_user(self, user: User) -> Principal:
        return Principal(
            organisation_id=user.organisation_id, user_id=user.id, roles=frozenset(user.roles)
        )

    # API keys ----------------------------------------------------------------------
    def issue_key(
        self,
        organisation_id: uuid.UUID,
        name: str,
        *,
        user_id: uuid.UUID | None = None,
        agreement_ids: list[uuid.UUID] | None = None,
        expires_at: datetime | None = None,
        principal: Principal | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key; returns it and its plaintext token (never stored, never shown again).

        Audited as ``key.issue`` (ids only). InvalidInput if ``expires_at`` has passed.
        """
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise InvalidInput("give the expiry with a UTC offset", field="expires_at")
            if expires_at <= utcnow():
                raise InvalidInput("a key's expiry must be in the future", field="expires_at")
        key, token = self._new_key(organisation_id, name, user_id, agreement_ids, expires_at)
        self._audit_key("key.issue", key, principal)
        self.session.flush()
        return key, token

    def _new_key(
        self,
        organisation_id: uuid.UUID,
        name: str,
        user_id: uuid.UUID | None,
        agreement_ids: list[uuid.UUID] | None,
        expires_at: datetime | None,
    ) -> tuple[ApiKey, str]:
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(
            organisation_id=organisation_id,
            user_id=user_id,
            name=name,
            prefix=prefix,
            secret_hash=hash_key_secret(secret),
            agreement_ids=[str(a) for a in agreement_ids or []],
            expires_at=expires_at,
        )
        self.session.add(key)
        self.session.flush()
        return key, f"{KEY_PREFIX}_{prefix}_{secret}"

    def _append(self, **record: object) -> None:
        # The audit log is a later capability (it names its actors with this package's
        # Principal), so user and key changes reach it through a hook point, not an import.
        for append in hooks("accounts.audit"):
            append(self.session, **record)

    def _audit_key(
        self, action: str, key: ApiKey, principal: Principal | None, **extra: str
    ) -> None:
        actor = principal or SYSTEM
        self._append(
            action=action,
            actor_org_id=actor.organisation_id,
            actor_user_id=actor.user_id,
            details={
                "key_id": str(key.id),
                "prefix": key.prefix,
                "organisation_id": str(key.organisation_id),
                "user_id": str(key.user_id) if key.user_id else None,
                "agreement_ids": sorted(key.agreement_ids),
                "by_key": str(actor.api_key_id) if actor.api_key_id else None,
                **extra,
            },
        )

    def may_manage_key(self, principal: Principal, key: ApiKey) -> bool:
        """True when ``principal``'s reach covers everything ``key`` can do.

        Its own organisation's keys (a governance officer: any organisation's), only within
        its agreement scope (an agreement-scoped key never reaches an unscoped key, nor one
        scoped outside its own), and, unless an officer, no key carrying roles it lacks.
        """
        officer = principal.has(Role.GOVERNANCE_OFFICER)
        if principal.organisation_id != key.organisation_id and not officer:
            return False
        if principal.agreement_scope is not None:
            scope = {uuid.UUID(a) for a in key.agreement_ids}
            if not scope or not scope <= principal.agreement_scope:
                return False
        if key.user_id is not None and not officer:
            user = self.session.get(User, key.user_id)
            if user is None or not set(user.roles) <= principal.roles:
                return False
        return True

    def managed_key(self, key_id: uuid.UUID, principal: Principal) -> ApiKey:
        """The key, if ``principal`` may manage it; NotFound otherwise (same answer as none)."""
        key = self.session.get(ApiKey, key_id)
        if key is None or not self.may_manage_key(principal, key):
            raise NotFound(f"API key {key_id} not found")
        return key

    def rotate_key(
        self,
        key_id: uuid.UUID,
        *,
        overlap: timedelta = timedelta(days=7),
        principal: Principal | None = None,
    ) -> tuple[ApiKey, str]:
        """Issue a successor with exactly the same scope; the old key works for ``overlap``.

        The successor keeps the organisation, user, agreement scope and expiry: rotation
        never widens a key. NotFound unless ``principal`` may manage the key.
        """
        old = self.managed_key(key_id, principal or SYSTEM)
        if old.revoked_at is not None:
            raise Conflict("a revoked key cannot be rotated")
        if old.expires_at is not None and old.expires_at <= utcnow():
            raise Conflict("an expired key cannot be rotated")
        new, token = self._new_key(
            old.organisation_id,
            f"{old.name} (rotated)"[:200],
            old.user_id,
            [uuid.UUID(a) for a in old.agreement_ids],
            old.expires_at,
        )
        cutoff = utcnow() + overlap
        if old.expires_at is None or old.expires_at > cutoff:
            old.expires_at = cutoff
        self._audit_key("key.rotate", new, principal, replaces=str(old.id))
        self.session.flush()
        return new, token

    def key(self, key_id: uuid.UUID) -> ApiKey:
        key = self.session.get(ApiKey, key_id)
        if key is None:
            raise NotFound(f"API key {key_id} not found")
        return key

    def keys(self, organisation_id: uuid.UUID, principal: Principal | None = None) -> list[ApiKey]:
        """The organisation's keys that ``principal`` may manage (all, for the system)."""
        stmt = (
            select(ApiKey)
            .where(ApiKey.organisation_id == organisation_id)
            .order_by(ApiKey.created_at)
        )
        who = principal or SYSTEM
        return [k for k in self.session.scalars(stmt) if self.may_manage_key(who, k)]

    def revoke_key(self, key_id: uuid.UUID, principal: Principal | None = None) -> ApiKey:
        """Revoke at once (audited as ``key.revoke``); NotFound unless it may be managed."""
        key = self.managed_key(key_id, principal or SYSTEM)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            self._audit_key("key.revoke", key, principal)
            self.session.flush()
        return key

    def authenticate_key(self, token: str) -> Principal:
        """The principal a bearer token stands for; Unauthenticated for any bad token."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            raise Unauthenticated("API key not recognised")
        # Every API call: read through the connection (plain columns, no ORM result).
        key = self.session.connection().execute(_KEY_BY_PREFIX, {"prefix": parts[1]}).one_or_none()
        if key is None or not hmac.compare_digest(key.secret_hash, hash_key_secret(parts[2])):
            raise Unauthenticated("API key not recognised")
        if key.revoked_at is not None:
            raise Unauthenticated("API key revoked")
        if key.expires_at is not None and key.expires_at <= utcnow():
            raise Unauthenticated("API key expired")
        roles: frozenset[str] = frozenset({Role.PARTNER_USER})
        if key.user_id is not None:
            user = self.user(key.user_id)
            if not user.active:
                raise Unauthenticated("API key's user is disabled")
            roles = frozenset(user.roles)
        scope = frozenset(uuid.UUID(a) for a in key.agreement_ids) if key.agreement_ids else None
        return Principal(
            organisation_id=key.organisation_id,
            user_id=key.user_id,
            roles=roles,
            api_key_id=key.id,
            agreement_scope=scope,
        )

"""Staff and partner users: throttled, audited sign-in; password and role changes that end
sessions everywhere. Never commits."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from shareguard.accounts.models import User
from shareguard.accounts.principal import Principal
from shareguard.accounts.service import SYSTEM, AccountService
from shareguard.audit import AuditRecord, append
from shareguard.errors import Unauthenticated
from shareguard.signin.sessions import SessionService
from shareguard.signin.throttle import ACCOUNT_LIMIT, Throttle


def audit_sign_in(
    session: Session,
    *,
    ok: bool,
    kind: str,
    user_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    failures: int = 0,
    details: dict[str, object] | None = None,
) -> None:
    """One audit entry per sign-in, right or wrong: ids and counts, never what was typed.

    ``details`` adds codes (a refusal's ``reason``, a provider account's hash), never values.
    """
    details = {"kind": kind, **(details or {})}
    if not ok and "reason" not in details:
        details |= {"failures": failures, "locked": failures >= ACCOUNT_LIMIT}
    append(
        session,
        AuditRecord(
            action="signin.success" if ok else "signin.failure",
            actor_user_id=user_id,
            subject_ref=str(person_id) if person_id else None,
            decision="permit" if ok else "deny",
            details=details,
        ),
    )


class StaffSignIn:
    def __init__(self, session: Session, secret: str) -> None:
        self.session = session
        self.accounts = AccountService(session)
        self.throttle = Throttle(session, secret)

    def authenticate(self, email: str, password: str, address: str) -> User:
        """The user, or Unauthenticated (one message); RateLimited before any hashing once
        the account or the address has failed too often. Every outcome is audited."""
        account = self.throttle.key("email", email.lower().strip())
        where = self.throttle.key("address", address)
        self.throttle.check(account, where)
        try:
            user = self.accounts.authenticate_password(email, password)
        except Unauthenticated:
            known = self.accounts.user_by_email(email)
            failures = self.throttle.failed(account, where)
            audit_sign_in(
                self.session,
                ok=False,
                kind="staff",
                user_id=known.id if known else None,
                failures=failures,
            )
            raise
        self.throttle.succeeded(account)
        audit_sign_in(self.session, ok=True, kind="staff", user_id=user.id)
        return user


def change_password(
    session: Session, user_id: uuid.UUID, password: str, principal: Principal = SYSTEM
) -> int:
    """Set a user's password and sign them out everywhere; returns the sessions ended."""
    AccountService(session).set_password(user_id, password, principal)
    return SessionService(session).end_for_user(user_id, "password_change")


def set_roles(
    session: Session, user_id: uuid.UUID, roles: list[str], principal: Principal = SYSTEM
) -> int:
    """Change a user's roles (audited); their sessions end so every page is re-decided."""
    AccountService(session).set_roles(user_id, roles, principal)
    return SessionService(session).end_for_user(user_id, "roles_changed")

"""Sign-in throttling per account and per client address. Never commits.

Failures are counted in a sliding window against two keyed hashes: the account tried (a
user's email, or a person's document number) and the client's address. Once either reaches
its limit, further attempts are refused with 429 *before* any password hash is computed, so
an unauthenticated caller cannot make the server pay argon2's cost without limit.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shareguard.errors import RateLimited
from shareguard.signin.models import SignInFailure
from shareguard.storage.base import utcnow

WINDOW = timedelta(minutes=15)
#: Failures against one account within ``WINDOW`` before it is locked for the rest of it.
ACCOUNT_LIMIT = 5
#: Failures from one client address within ``WINDOW`` (any accounts) before it is refused.
ADDRESS_LIMIT = 20


class Throttle:
    def __init__(self, session: Session, secret: str) -> None:
        self.session = session
        self._secret = secret.encode()

    def key(self, kind: str, value: str) -> str:
        """A keyed hash of an account name or address: countable, not readable."""
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def _count(self, scope: str, key: str, now: datetime) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(SignInFailure)
                .where(
                    SignInFailure.scope == scope,
                    SignInFailure.key_hash == key,
                    SignInFailure.at > now - WINDOW,
                )
            )
            or 0
        )

    def check(self, account: str | None, address: str, *, now: datetime | None = None) -> None:
        """RateLimited (429, with Retry-After) if the account or the address is locked."""
        now = now or utcnow()
        if (
            account is not None and self._count("account", account, now) >= ACCOUNT_LIMIT
        ) or self._count("address", address, now) >= ADDRESS_LIMIT:
            raise RateLimited(
                "too many failed attempts to sign in; wait 15 minutes and try again",
                retry_after=int(WINDOW.total_seconds()),
            )

    def failed(self, account: str | None, address: str, *, now: datetime | None = None) -> int:
        """Count a failure against both; returns the account's (else the address's) failures
        in the window."""
        now = now or utcnow()
        self.prune(now=now)
        self.session.add(SignInFailure(scope="address", key_hash=address, at=now))
        if account is not None:
            self.session.add(SignInFailure(scope="account", key_hash=account, at=now))
        self.session.flush()
        if account is None:
            return self._count("address", address, now)
        return self._count("account", account, now)

    def succeeded(self, account: str) -> None:
        """A right answer clears the account's failures (not the address's)."""
        self.session.execute(
            delete(SignInFailure).where(
                SignInFailure.scope == "account", SignInFailure.key_hash == account
            )
        )

    def prune(self, *, now: datetime | None = None) -> int:
        """Forget failures older than the window; returns how many rows went."""
        now = now or utcnow()
        result = self.session.execute(delete(SignInFailure).where(SignInFailure.at <= now - WINDOW))
        return int(result.rowcount)  # type: ignore[attr-defined]

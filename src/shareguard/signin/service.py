"""The person's one-time codes: issued, checked and used up server-side. Never commits."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shareguard.errors import RateLimited
from shareguard.signin.models import SignInCode
from shareguard.storage.base import utcnow

CODE_SECONDS = 10 * 60
CODE_TRIES = 5
#: Codes one person may be sent in ``CODES_WINDOW``: each brings ``CODE_TRIES`` guesses.
CODES_PER_WINDOW = 5
CODES_WINDOW = timedelta(hours=1)


class CodeResult(enum.StrEnum):
    SIGNED_IN = "signed_in"
    WRONG = "wrong"
    #: Expired, already used, locked after ``CODE_TRIES`` guesses, or never issued.
    EXPIRED = "expired"


@dataclass(frozen=True)
class Verified:
    result: CodeResult
    #: Whose code it was (SIGNED_IN and WRONG); for the audit entry, never shown.
    person_id: uuid.UUID | None = None
    tries_left: int = 0


class SignInService:
    """Issue and check one-time codes; the counter and the code's hash live in the database."""

    def __init__(self, session: Session, secret: str) -> None:
        self.session = session
        self._secret = secret.encode()

    def _digest(self, challenge_id: uuid.UUID, code: str) -> str:
        message = f"sign-in-code:{challenge_id}:{code}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def start(self, person_id: uuid.UUID, *, now: datetime | None = None) -> tuple[uuid.UUID, str]:
        """A new code for the person: returns the challenge id and the code (sent, never kept).

        Earlier unused codes stop working. RateLimited (429) once ``CODES_PER_WINDOW`` codes
        were issued to this person within ``CODES_WINDOW``.
        """
        now = now or utcnow()
        recent = self.session.scalar(
            select(func.count())
            .select_from(SignInCode)
            .where(SignInCode.person_id == person_id, SignInCode.created_at > now - CODES_WINDOW)
        )
        if (recent or 0) >= CODES_PER_WINDOW:
            raise RateLimited(
                "too many security codes were asked for; try again later",
                retry_after=int(CODES_WINDOW.total_seconds()),
            )
        self.session.execute(
            update(SignInCode)
            .where(SignInCode.person_id == person_id, SignInCode.used_at.is_(None))
            .values(attempts=CODE_TRIES)
        )
        code = f"{secrets.randbelow(10**6):06d}"
        row = SignInCode(person_id=person_id, expires_at=now + timedelta(seconds=CODE_SECONDS))
        row.id = uuid.uuid4()
        row.digest = self._digest(row.id, code)
        row.created_at = now
        self.session.add(row)
        self.session.flush()
        return row.id, code

    def verify(
        self, challenge_id: uuid.UUID, code: str, *, now: datetime | None = None
    ) -> Verified:
        """Spend one try on ``code``; SIGNED_IN at most once per challenge.

        The try is counted before the code is compared, in one conditional UPDATE, so
        concurrent guesses cannot share a try and a replayed browser state gains nothing.
        """
        now = now or utcnow()
        counted = self.session.execute(
            update(SignInCode)
            .where(
                SignInCode.id == challenge_id,
                SignInCode.used_at.is_(None),
                SignInCode.attempts < CODE_TRIES,
                SignInCode.expires_at > now,
            )
            .values(attempts=SignInCode.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if counted.rowcount != 1:  # type: ignore[attr-defined]
            return Verified(CodeResult.EXPIRED)
        row = self.session.execute(
            select(SignInCode.person_id, SignInCode.digest, SignInCode.attempts).where(
                SignInCode.id == challenge_id
            )
        ).one()
        if not hmac.compare_digest(self._digest(challenge_id, code), row.digest):
            return Verified(
                CodeResult.WRONG,
                person_id=row.person_id,
                tries_left=max(CODE_TRIES - row.attempts, 0),
            )
        used = self.session.execute(
            update(SignInCode)
            .where(SignInCode.id == challenge_id, SignInCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            return Verified(CodeResult.EXPIRED)
        return Verified(CodeResult.SIGNED_IN, person_id=row.person_id)

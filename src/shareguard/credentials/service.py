"""Issuing, revoking and verifying credentials online, and the person's locks.

The only code that writes credentials and a person's locks. Each public method that writes
flushes; the request or CLI boundary commits. Issuing goes through the one door
(``policy.disclose`` with kind ``credential``): the decision, the disclosure record and its
audit entry commit together with the credential row, or nothing does; a refusal keeps its audit
entry alone (``errors.keep_audit``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import PURPOSES
from shareguard.audit import AuditRecord, append, payload_hash
from shareguard.config import Settings, get_settings
from shareguard.credentials import format as fmt
from shareguard.credentials import keys, qr
from shareguard.credentials.models import Credential
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound, Refused, keep_audit
from shareguard.policy import DisclosureRequest, disclose
from shareguard.status.answer import CONFIRMED, status_answer
from shareguard.status.models import Person
from shareguard.status.service import SHARE_CODE_PURPOSES, StatusService, subject_for
from shareguard.storage.base import utcnow

CASEWORKER = "caseworker"
#: A credential lasts at most this long (and never past the status's own end).
MAX_DAYS = 30
#: How long a published revocation list counts as fresh.
REVOCATION_LIST_FRESH = timedelta(hours=24)
REVOCATION_REASONS = ("lost", "status_changed", "person_request", "issued_in_error")
#: Locks a person may set on their own record, with what each stops (shown to the person).
LOCKS = {
    "attribute_checks": (
        "Checks by name and date of birth from organisations the law does not require to check "
        "(for example a bank's convenience check). Share-code checks you start still work; "
        "checks the law requires still happen and are shown to you with their legal gateway."
    ),
}


def issuer_for(settings: Settings) -> str:
    """The issuer URI in every credential: the deployment's origin."""
    return "https://" + settings.log_origin.split("/", 1)[0]


def _may_act_for(principal: Principal, person_id: uuid.UUID, what: str) -> None:
    if principal.person_id == person_id or principal.has(CASEWORKER, "system"):
        return
    raise Forbidden(f"only the person, or a caseworker helping them, {what}")


@dataclass(frozen=True)
class SignedList:
    token: str
    issued_at: datetime
    next_update: datetime
    count: int


class CredentialService:
    def __init__(self, session: Session, settings: Settings | None = None) -> None:
        self.session = session
        self.settings = settings or get_settings()

    # keys --------------------------------------------------------------------------
    def _key(self) -> OKPKey:
        return keys.issuing_key(self.settings.key_dir)

    def public_key(self) -> OKPKey:
        return keys.public_key(self.settings.key_dir)

    @property
    def issuer(self) -> str:
        return issuer_for(self.settings)

    @property
    def status_url(self) -> str:
        return f"{self.issuer}/api/v1/credentials/revocations"

    # issuing -----------------------------------------------------------------------
    def issue(
        self,
        person_id: uuid.UUID,
        purpose: str,
        principal: Principal,
        *,
        days: int = MAX_DAYS,
        at: datetime | None = None,
    ) -> Credential:
        """Issue a signed credential of one purpose's minimal answer, through the door.

        The person themselves, or a caseworker on their behalf. Valid ``days`` (1-30) and never
        past the end of the person's current status. Raises Forbidden, InvalidInput, Conflict
        (no current status) or Refused (the policy refused; that refusal is audited).
        """

        _may_act_for(principal, person_id, "can get a credential for them")
        if purpose not in SHARE_CODE_PURPOSES:
            raise InvalidInput("no credential is issued for this purpose", field="purpose")
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"a credential lasts 1 to {MAX_DAYS} days", field="days")
        now = (at or utcnow()).astimezone(UTC).replace(microsecond=0)
        status_svc = StatusService(self.session)
        person = status_svc.person(person_id)
        standing = status_svc.standing(person_id, on=now.date())
        status = standing.status
        if status is None:
            raise Conflict(
                "there is no current status to put in a credential; a caseworker can help",
                field="person",
            )
        built = status_answer(person, standing, purpose)
        if built.outcome != CONFIRMED:
            raise Conflict(
                "the current status does not confirm this purpose, so no credential is issued; "
                "a caseworker can help",
                field="purpose",
            )
        shape = PURPOSES[purpose].answer_shape
        request = DisclosureRequest(
            principal=principal,
            action="subject_access",
            agreement_id=None,
            purpose=purpose,
            data_items=shape,
            subject=subject_for(self.session, person_id),
            at=now,
        )
        disclosed = disclose(
            self.session,
            request,
            {k: v for k, v in built.answer.items() if k in shape},
            kind="credential",
            record_refs=built.record_refs,
        )
        if not disclosed.decision.allowed or disclosed.answer is None:
            raise keep_audit(Refused(disclosed.decision.reason, kind=disclosed.decision.kind))
        until = now + timedelta(days=days)
        if status.valid_to is not None:
            status_end = datetime.combine(status.valid_to, time(23, 59, 59), UTC)
            until = min(until, status_end)
        key = self._key()
        cid = uuid.uuid4()
        document = fmt.build_credential(
            credential_id=cid,
            issuer=self.issuer,
            purpose=purpose,
            question=PURPOSES[purpose].question,
            answer=disclosed.answer,
            issued_at=now,
            valid_until=until,
            status_url=self.status_url,
        )
        token = fmt.sign(document, key)
        row = Credential(
            id=cid,
            person_id=person_id,
            purpose=purpose,
            issued_at=now,
            valid_until=until,
            key_id=fmt.key_id(key),
            token=token,
            disclosure_id=disclosed.disclosure_id,
            issued_by_user_id=principal.user_id,
        )
        self.session.add(row)
        append(
            self.session,
            AuditRecord(
                action="credential.issue",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                purpose=purpose,
                subject_ref=str(person_id),
                decision="permit",
                payload_hash=payload_hash(token),
                details={
                    "credential_id": str(cid),
                    "disclosure_id": str(disclosed.disclosure_id),
                    "key_id": row.key_id,
                    "valid_until": fmt.iso(until),
                    "by": "person" if principal.person_id == person_id else "caseworker",
                },
            ),
        )
        self.session.flush()
        return row

    # reading -----------------------------------------------------------------------
    def get(self, credential_id: uuid.UUID, principal: Principal) -> Credential:
        """One credential, for its person or a caseworker; NotFound for anyone else."""
        row = self.session.get(Credential, credential_id)
        if row is None or not (
            principal.person_id == row.person_id or principal.has(CASEWORKER, "system")
        ):
            raise NotFound(f"credential {credential_id} not found")
        return row

    def for_person(self, person_id: uuid.UUID, principal: Principal) -> list[Credential]:
        _may_act_for(principal, person_id, "can see their credentials")
        StatusService(self.session).person(person_id)
        stmt = (
            select(Credential)
            .where(Credential.person_id == person_id)
            .order_by(Credential.issued_at.desc(), Credential.id)
        )
        return list(self.session.scalars(stmt))

    def page(self, row: Credential) -> str:
        """The printable HTML page: the facts, the QR code and how a checker verifies it."""
        key = self.public_key()
        result = fmt.verify(row.token, key, at=row.issued_at)
        env = Environment(
            loader=PackageLoader("shareguard.credentials", "templates"),
            autoescape=select_autoescape(["html"]),
        )
        return env.get_template("credential.html").render(
            credential=row,
            purpose=PURPOSES[row.purpose],
            subject=result.subject or {},
            token=row.token,
            qr_svg=qr.qr_svg(row.token),
            key_id=row.key_id,
            issuer=self.issuer,
            issued=fmt.iso(row.issued_at),
            valid_until=fmt.iso(row.valid_until),
            public_key_url=f"{self.issuer}/api/v1/credentials/public-key",
            revocations_url=self.status_url,
        )

    # revocation --------------------------------------------------------------------
    def revoke(
        self,
        credential_id: uuid.UUID,
        principal: Principal,
        reason: str = "person_request",
        *,
        at: datetime | None = None,
    ) -> Credential:
        """Revoke a credential (the person or a caseworker); audited. Revoking twice is a no-op."""
        if reason not in REVOCATION_REASONS:
            raise InvalidInput(
                f"reason must be one of: {', '.join(REVOCATION_REASONS)}", field="reason"
            )
        row = self.get(credential_id, principal)
        if row.revoked_at is not None:
            return row
        row.revoked_at = (at or utcnow()).astimezone(UTC).replace(microsecond=0)
        row.revoked_by_user_id = principal.user_id
        row.revocation_reason = reason
        append(
            self.session,
            AuditRecord(
                action="credential.revoke",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                purpose=row.purpose,
                subject_ref=str(row.person_id),
                details={"credential_id": str(row.id), "reason": reason},
            ),
        )
        self.session.flush()
        return row

    def revocation_list(self, *, at: datetime | None = None) -> SignedList:
        """The signed list of revoked credentials not yet expired (reads only; not audited:
        it carries credential ids, which are random and name nobody)."""
        now = (at or utcnow()).astimezone(UTC).replace(microsecond=0)
        rows = self.session.execute(
            select(Credential.id, Credential.revoked_at).where(
                Credential.revoked_at.is_not(None), Credential.valid_until >= now
            )
        ).all()
        revoked = {cid: when for cid, when in rows if when is not None}
        next_update = now + REVOCATION_LIST_FRESH
        document = fmt.build_revocation_list(
            issuer=self.issuer, issued_at=now, next_update=next_update, revoked=revoked
        )
        token = fmt.sign(document, self._key(), typ=fmt.REVOCATION_TYP)
        return SignedList(token, now, next_update, len(revoked))

    # online verification -----------------------------------------------------------
    def verify_online(
        self, text: str, principal: Principal, *, at: datetime | None = None
    ) -> fmt.Verification:
        """Verify with the issuing key and the live revocation state; audited.

        Raises CredentialFormatError (InvalidInput) when the text holds no credential at all.
        """
        now = (at or utcnow()).astimezone(UTC)
        result = fmt.verify(text, self.public_key(), at=now)
        row = (
            self.session.get(Credential, uuid.UUID(result.credential_id))
            if result.credential_id and result.code in ("valid", "expired", "not_yet_valid")
            else None
        )
        if result.valid and row is None:
            result = fmt.Verification(
                valid=False,
                code="unknown",
                reason="signed by shareguard's key but not issued by this service",
                credential_id=result.credential_id,
            )
        elif result.valid and row is not None:
            checked: dict[str, Any] = {
                **{k: getattr(result, k) for k in result.__dataclass_fields__},
                "revocation_checked": True,
                "revocation_list_issued_at": now,
                "warnings": (),
            }
            if row.revoked_at is not None and row.revoked_at <= now:
                checked.update(
                    valid=False,
                    code="revoked",
                    reason=f"revoked on {row.revoked_at.date().isoformat()} "
                    f"({fmt.iso(row.revoked_at)})",
                    revoked_at=row.revoked_at,
                )
            result = fmt.Verification(**checked)
        append(
            self.session,
            AuditRecord(
                action="credential.verify",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                purpose=result.purpose,
                subject_ref=str(row.person_id) if row is not None else None,
                details={
                    "credential_id": result.credential_id,
                    "result": result.code,
                },
            ),
        )
        self.session.flush()
        return result


class LockService:
    """A person's locks on their own record (``Person.locks``); each change audited."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def locks(self, person_id: uuid.UUID, principal: Principal) -> list[str]:
        _may_act_for(principal, person_id, "can see their locks")
        return sorted(StatusService(self.session).person(person_id).locks or ())

    def set_lock(self, person_id: uuid.UUID, lock: str, principal: Principal) -> list[str]:
        """Set a lock (the person, or a caseworker on their behalf); audited if it changes."""
        return self._change(person_id, lock, principal, on=True)

    def clear_lock(self, person_id: uuid.UUID, lock: str, principal: Principal) -> list[str]:
        """Clear a lock; audited if it changes."""
        return self._change(person_id, lock, principal, on=False)

    def _change(
        self, person_id: uuid.UUID, lock: str, principal: Principal, *, on: bool
    ) -> list[str]:
        _may_act_for(principal, person_id, "can change their locks")
        if lock not in LOCKS:
            raise InvalidInput(f"unknown lock; known: {', '.join(sorted(LOCKS))}", field="lock")
        person: Person = StatusService(self.session).person(person_id)
        before = set(person.locks or ())
        after = before | {lock} if on else before - {lock}
        if after == before:
            return sorted(before)
        # Assign a new list: JSON columns do not notice in-place changes.
        person.locks = sorted(after)
        append(
            self.session,
            AuditRecord(
                action=f"person.lock.{'set' if on else 'clear'}",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                subject_ref=str(person_id),
                details={
                    "lock": lock,
                    "by": "person" if principal.person_id == person_id else "caseworker",
                },
            ),
        )
        self.session.flush()
        return sorted(after)

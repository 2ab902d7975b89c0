"""The person signs in through an OpenID provider in GOV.UK One Login's shape. Never commits.

``begin`` stores a pending request and returns where to send the browser; ``complete`` takes
the provider's answer through the whole check: the pending request (``state``, once), the
code exchange (``private_key_jwt``, PKCE), the ID token (signature, ``iss``, ``aud``, ``exp``,
``nonce``, the authentication level ``vot``), ``/userinfo`` and its signed identity claim.
The verified name and date of birth are then matched to the status register with the
attribute matcher: only one strong, clear match signs in. Anything else is "we could not
find your record", never someone else's record. Every outcome is audited (ids only), and a
refusal keeps its audit entry (``errors.keep_audit``) so a used ``state`` stays used.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.audit import AuditRecord, append
from shareguard.checks import matcher
from shareguard.config import Settings
from shareguard.errors import keep_audit
from shareguard.signin import oidc
from shareguard.signin.identity import CORE_IDENTITY_CLAIM, VerifiedIdentity, verify
from shareguard.signin.keys import client_key
from shareguard.signin.models import IdentityLink
from shareguard.signin.pending import PendingRequests
from shareguard.signin.staff import audit_sign_in
from shareguard.status import StatusService
from shareguard.storage.base import utcnow


class NoRecord(oidc.SignInFailed):
    """The identity was verified but matched nobody, or more than one person, or too weakly."""

    status = 404
    title = "We could not find your record"
    slug = "no-record"


def subject_ref(issuer: str, subject: str) -> str:
    """A provider account as audit entries name it: a hash, never the ``sub`` itself."""
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:32]


def levels(vtr: str) -> tuple[str, str]:
    """(authentication level, identity level) of a vector such as ``Cl.Cm.P2``."""
    parts = [p for p in vtr.split(".") if p]
    auth = ".".join(p for p in parts if p.startswith("C"))
    identity = ".".join(p for p in parts if p.startswith("P"))
    return auth, identity


class PersonSignIn:
    """OpenID sign-in for the person-facing service (``SHAREGUARD_PERSON_SIGN_IN=oidc``)."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.person_oidc_issuer and self.settings.person_oidc_client_id)

    def client(self) -> oidc.Client:
        return oidc.Client(
            issuer=self.settings.person_oidc_issuer,
            client_id=self.settings.person_oidc_client_id,
            key=client_key(self.settings.key_dir, "person"),
        )

    def begin(self, redirect_uri: str) -> tuple[str, str]:
        """(the provider's authorisation URL, the state for the browser's cookie)."""
        provider = oidc.discover(self.settings.person_oidc_issuer)
        pending = PendingRequests(self.session).begin("person")
        url = oidc.authorization_url(
            self.client(),
            provider,
            pending,
            redirect_uri,
            scope="openid",
            vtr=json.dumps([self.settings.person_oidc_vtr]),
            claims=json.dumps({"userinfo": {CORE_IDENTITY_CLAIM: None}}),
            ui_locales="en",
        )
        return url, pending.state

    def complete(
        self,
        state: str,
        browser_state: str | None,
        code: str,
        redirect_uri: str,
        *,
        error: str = "",
    ) -> uuid.UUID:
        """The person this answer signs in; SignInFailed or NoRecord (audited) otherwise.

        ``error`` is the provider's (the person cancelled, or the provider refused): the
        request is used up all the same.
        """
        issuer, sub = self.settings.person_oidc_issuer, None
        try:
            pending, _ = PendingRequests(self.session).use("person", state, browser_state)
            client = self.client()
            provider, tokens, claims = oidc.redeem(
                client, issuer, pending, code, error, redirect_uri
            )
            sub = str(claims["sub"])
            auth_level, identity_level = levels(self.settings.person_oidc_vtr)
            if auth_level and claims.get("vot") != auth_level:
                raise oidc.SignInFailed("id_token_vot")
            info = oidc.userinfo(provider, tokens["access_token"], sub)
            identity_issuer = self.settings.person_oidc_identity_issuer or provider.issuer
            identity = verify(
                info.get(CORE_IDENTITY_CLAIM),
                keys_url=self.settings.person_oidc_identity_keys
                or identity_issuer.rstrip("/") + "/.well-known/did.json",
                issuer=identity_issuer,
                client_id=client.client_id,
                sub=sub,
                level=identity_level or self.settings.person_oidc_identity_level,
            )
            person_id = self._match(provider.issuer, sub, identity)
        except oidc.SignInFailed as exc:
            # Quoted to a caseworker, it finds this refusal's audit entry (and nothing else).
            exc.reference = f"{secrets.token_hex(2)}-{secrets.token_hex(2)}".upper()
            details: dict[str, object] = {"reason": exc.reason, "reference": exc.reference}
            if sub is not None:
                details["account"] = subject_ref(issuer, sub)
            audit_sign_in(self.session, ok=False, kind="person_oidc", details=details)
            raise keep_audit(exc) from None
        audit_sign_in(
            self.session,
            ok=True,
            kind="person_oidc",
            person_id=person_id,
            details={"account": subject_ref(issuer, sub)},
        )
        return person_id

    def _match(self, issuer: str, sub: str, identity: VerifiedIdentity) -> uuid.UUID:
        """The one person the verified identity is, linking the provider's account to them.

        A linked account signs in to its person only while the identity still matches that
        person strongly; an unlinked one needs one strong, clear match (``matcher.decide``).
        """
        persons = StatusService(self.session).candidates(
            identity.given, identity.family, identity.date_of_birth
        )
        result = matcher.decide(
            matcher.Query(identity.given, identity.family, identity.date_of_birth),
            [
                matcher.Candidate(
                    str(p.id), [(n.given, n.family) for n in p.names], p.date_of_birth
                )
                for p in persons
            ],
        )
        link = self.session.scalar(
            select(IdentityLink).where(IdentityLink.issuer == issuer, IdentityLink.subject == sub)
        )
        if link is not None and link.person_id is not None:
            strong = {s.key for s in result.scores if s.score >= matcher.CONFIRM}
            if str(link.person_id) not in strong:
                raise NoRecord("linked_no_longer_matches", "we could not find your record")
            link.last_used_at = utcnow()
            return link.person_id
        if result.kind != "unique" or result.best is None:
            raise NoRecord(f"match_{result.kind}", "we could not find your record")
        person_id = uuid.UUID(result.best.key)
        link = IdentityLink(issuer=issuer, subject=sub, person_id=person_id, last_used_at=utcnow())
        self.session.add(link)
        self.session.flush()
        append(
            self.session,
            AuditRecord(
                action="signin.link",
                subject_ref=str(person_id),
                decision="permit",
                details={
                    "kind": "person",
                    "link_id": str(link.id),
                    "issuer": issuer,
                    "account": subject_ref(issuer, sub),
                    "score": result.best.score,
                },
            ),
        )
        return person_id

"""Staff sign in through the department's OpenID provider (``SHAREGUARD_STAFF_SIGN_IN=oidc``).
Never commits.

The same relying party as the person's (``signin.oidc``: discovery, code flow with
``state``, ``nonce`` and PKCE, ``private_key_jwt`` or a client secret, ID token checks), then
the claims mapping (``signin.mapping``) says which organisation and roles the account holds
and whether it used multi-factor authentication. The account must belong to a shareguard
user: linked by the provider's ``sub`` after the first sign-in, found by the mapping's email
claim the first time. Roles follow the provider: a change is audited (``user.roles_change``)
and ends the user's other sessions, as a role change by an administrator does. Every
sign-in and refusal is audited with ids and reason codes only.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation, User
from shareguard.accounts.service import AccountService
from shareguard.audit import AuditRecord, append
from shareguard.config import Settings
from shareguard.errors import keep_audit
from shareguard.signin import mapping as claims_mapping
from shareguard.signin import oidc
from shareguard.signin.keys import client_key
from shareguard.signin.models import IdentityLink
from shareguard.signin.pending import PendingRequests
from shareguard.signin.person import subject_ref
from shareguard.signin.staff import audit_sign_in, set_roles
from shareguard.storage.base import utcnow

#: What a refused member of staff is told, by reason (never what the token said).
REFUSALS = {
    "mfa": "your sign-in did not use multi-factor authentication; sign in again with your "
    "second factor (a security key, an authenticator app or a code)",
    "no_role": "your account has no role in this service; ask your service desk to add you "
    "to the right group",
    "organisation_ambiguous": "your account is in groups of more than one organisation; ask "
    "your service desk to remove the ones you do not need",
    "unknown_user": "your account is not set up for this service; ask an administrator of "
    "this service to add you",
    "user_disabled": "your account for this service has been switched off; ask an "
    "administrator of this service",
    "organisation_mismatch": "your account belongs to another organisation in this service "
    "than your groups say; ask an administrator of this service",
    "mapping": "this service's sign-in is misconfigured; ask an administrator of this service",
}


class StaffRefused(oidc.SignInFailed):
    """The provider vouched for the account, but the mapping or the user register refuses it."""

    status = 403
    title = "You cannot sign in to this service"
    slug = "staff-sign-in-refused"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, REFUSALS[reason])


class StaffOidcSignIn:
    """OpenID sign-in for the console's staff and partner users."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    @property
    def configured(self) -> bool:
        s = self.settings
        return bool(s.staff_oidc_issuer and s.staff_oidc_client_id and s.staff_oidc_mapping)

    def mapping(self) -> claims_mapping.ClaimsMapping:
        assert self.settings.staff_oidc_mapping is not None
        return claims_mapping.load(self.settings.staff_oidc_mapping)

    def client(self) -> oidc.Client:
        s = self.settings
        if s.staff_oidc_client_secret:
            return oidc.Client(
                s.staff_oidc_issuer, s.staff_oidc_client_id, None, s.staff_oidc_client_secret
            )
        return oidc.Client(
            s.staff_oidc_issuer, s.staff_oidc_client_id, client_key(s.key_dir, "staff")
        )

    def begin(self, redirect_uri: str, next_url: str = "") -> tuple[str, str]:
        """(the provider's authorisation URL, the state for the browser's cookie)."""
        provider = oidc.discover(self.settings.staff_oidc_issuer)
        rules = self.mapping()
        pending = PendingRequests(self.session).begin("staff", next_url)
        extra = {"acr_values": rules.acr_values} if rules.acr_values else {}
        scope = "openid email profile" + (" groups" if rules.roles_claim == "groups" else "")
        url = oidc.authorization_url(
            self.client(), provider, pending, redirect_uri, scope=scope, **extra
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
    ) -> tuple[uuid.UUID, str]:
        """(the user this answer signs in, where to go next); SignInFailed or StaffRefused
        (both audited, the refusal kept) otherwise."""
        issuer, sub, user_id = self.settings.staff_oidc_issuer, None, None
        try:
            pending, next_url = PendingRequests(self.session).use("staff", state, browser_state)
            rules = self.mapping()
            provider, tokens, claims = oidc.redeem(
                self.client(), issuer, pending, code, error, redirect_uri
            )
            sub = str(claims["sub"])
            claims = self._with_userinfo(provider, tokens["access_token"], claims, rules)
            decision = claims_mapping.decide(rules, claims)
            if decision.refusal:
                raise StaffRefused(decision.refusal)
            user, link = self._user(provider.issuer, sub, claims.get(rules.email_claim))
            user_id = user.id
            self._check(user, decision)
            # Written only once nothing can refuse: a refusal keeps its audit entry alone.
            self._link(user, link, provider.issuer, sub)
            changed = sorted(user.roles) != list(decision.roles)
            if changed:
                # Audited as user.roles_change; ends the user's other sessions.
                set_roles(self.session, user.id, list(decision.roles))
        except oidc.SignInFailed as exc:
            exc.reference = f"{secrets.token_hex(2)}-{secrets.token_hex(2)}".upper()
            details: dict[str, object] = {"reason": exc.reason, "reference": exc.reference}
            if sub is not None:
                details["account"] = subject_ref(issuer, sub)
            audit_sign_in(
                self.session, ok=False, kind="staff_oidc", user_id=user_id, details=details
            )
            raise keep_audit(exc) from None
        audit_sign_in(
            self.session,
            ok=True,
            kind="staff_oidc",
            user_id=user.id,
            details={"account": subject_ref(issuer, sub), "roles_changed": changed},
        )
        return user.id, next_url

    def _with_userinfo(
        self,
        provider: oidc.Provider,
        access_token: str,
        claims: dict[str, Any],
        rules: claims_mapping.ClaimsMapping,
    ) -> dict[str, Any]:
        """The ID token's claims, with the roles and email claims from ``/userinfo`` when the
        ID token lacks them (some providers keep groups out of ID tokens). ``amr`` and ``acr``
        always come from the ID token: they describe this authentication."""
        wanted = (rules.roles_claim, rules.email_claim)
        if all(k in claims for k in wanted) or not provider.userinfo_endpoint:
            return claims
        info = oidc.userinfo(provider, access_token, str(claims["sub"]))
        return {**claims, **{k: info[k] for k in wanted if k in info and k not in claims}}

    def _user(self, issuer: str, sub: str, email: object) -> tuple[User, IdentityLink | None]:
        """The user this provider account is, with its link: by the link, else (the first
        time, link None) by the mapping's email claim. StaffRefused(``unknown_user``)."""
        link = self.session.scalar(
            select(IdentityLink).where(IdentityLink.issuer == issuer, IdentityLink.subject == sub)
        )
        if link is not None and link.user_id is not None:
            linked = self.session.get(User, link.user_id)
            if linked is None:
                raise StaffRefused("unknown_user")
            return linked, link
        accounts = AccountService(self.session)
        user = accounts.user_by_email(email) if isinstance(email, str) and email else None
        if user is None:
            raise StaffRefused("unknown_user")
        taken = self.session.scalar(
            select(IdentityLink.id).where(
                IdentityLink.issuer == issuer, IdentityLink.user_id == user.id
            )
        )
        if taken is not None:
            # Another account of this provider is already this user's: an email claim alone
            # never moves a user to a second account.
            raise StaffRefused("unknown_user")
        return user, None

    def _link(self, user: User, link: IdentityLink | None, issuer: str, sub: str) -> None:
        """Record this use of the link, or the link itself (audited as ``signin.link``)."""
        if link is not None:
            link.last_used_at = utcnow()
            return
        link = IdentityLink(issuer=issuer, subject=sub, user_id=user.id, last_used_at=utcnow())
        self.session.add(link)
        self.session.flush()
        append(
            self.session,
            AuditRecord(
                action="signin.link",
                actor_user_id=user.id,
                decision="permit",
                details={
                    "kind": "staff",
                    "link_id": str(link.id),
                    "issuer": issuer,
                    "account": subject_ref(issuer, sub),
                },
            ),
        )

    def _check(self, user: User, decision: claims_mapping.Decision) -> None:
        if not user.active:
            raise StaffRefused("user_disabled")
        org = self.session.scalar(
            select(Organisation.id).where(Organisation.name == decision.organisation)
        )
        if org is None:
            raise StaffRefused("mapping")
        if org != user.organisation_id:
            raise StaffRefused("organisation_mismatch")

"""Firewall rules (two-officer changes), pauses, and trying or showing policies.

Every change bumps the policy generation in the same transaction, so every process's compiled
policies are rebuilt before their next decision, and is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation, Role
from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import PURPOSES
from shareguard.agreements.models import Agreement
from shareguard.agreements.service import AgreementService
from shareguard.audit import AuditRecord, append
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.policy import cedar
from shareguard.policy.cedar import AgreementTerms, FirewallTerms
from shareguard.policy.defaults import DEFAULT_FIREWALL, DESCRIPTIONS
from shareguard.policy.door import (
    agreement_for,
    bump,
    decide,
    firewall_terms,
    load_engine,
    pause_terms,
)
from shareguard.policy.models import FirewallChange, FirewallRule, Pause
from shareguard.policy.schemas import DecisionRequestIn, FirewallProposalIn, PauseIn
from shareguard.policy.types import Decision, DisclosureRequest, Subject
from shareguard.storage.base import new_id, utcnow


def activation_warnings(session: Session, agreement: Agreement) -> list[str]:
    """Schema errors in the agreement's compiled permits, and firewall rules that shadow it."""
    terms = AgreementTerms.of(agreement)
    warnings = [
        f"compiled policy does not validate: {e}"
        for e in cedar.validate(cedar.policy_text(cedar.compile_agreement(terms)))
    ]
    rules = firewall_terms(session)
    shadowed_purposes = []
    for purpose in terms.purposes:
        for rule in rules:
            if purpose not in rule.guarded_purposes():
                continue
            if rule.actions and not set(terms.actions) <= set(rule.actions):
                continue
            if not rule.categories and not rule.data_items:
                shadowed_purposes.append(purpose)
                warnings.append(
                    f"firewall rule '{rule.title}' refuses everything this agreement permits "
                    f"for purpose '{purpose}'"
                )
                continue
            blocked = sorted(set(rule.data_items) & set(terms.data_items))
            if blocked:
                warnings.append(
                    f"firewall rule '{rule.title}' refuses every request for purpose "
                    f"'{purpose}' that includes {', '.join(blocked)}"
                )
                if set(terms.data_items) <= set(rule.data_items):
                    shadowed_purposes.append(purpose)
    if terms.purposes and set(terms.purposes) <= set(shadowed_purposes):
        warnings.insert(0, "every permit of this agreement is shadowed by a firewall rule")
    return warnings


def _audit(session: Session, principal: Principal, action: str, **details: object) -> None:
    append(
        session,
        AuditRecord(
            action=action,
            actor_org_id=principal.organisation_id,
            actor_user_id=principal.user_id,
            details=details,
        ),
    )


def _officer(principal: Principal) -> None:
    principal.require(Role.GOVERNANCE_OFFICER)


class FirewallService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def ensure_defaults(self) -> None:
        """Write the shipped rules into the register the first time it is used (flushes)."""
        if self.session.scalar(select(FirewallRule.id).limit(1)) is not None:
            return
        for rule in DEFAULT_FIREWALL:
            self.session.add(
                FirewallRule(
                    key=rule.key,
                    title=rule.title,
                    description=DESCRIPTIONS.get(rule.key, ""),
                    categories=list(rule.categories),
                    data_items=list(rule.data_items),
                    purposes=list(rule.purposes),
                    actions=list(rule.actions),
                    sources=list(rule.sources),
                )
            )
        self.session.flush()
        bump(self.session)

    def rules(self, *, include_retired: bool = False) -> list[FirewallRule]:
        self.ensure_defaults()
        self.session.flush()
        stmt = select(FirewallRule).order_by(FirewallRule.key)
        if not include_retired:
            stmt = stmt.where(FirewallRule.active.is_(True))
        return list(self.session.scalars(stmt))

    def changes(self, status: str | None = None) -> list[FirewallChange]:
        stmt = select(FirewallChange).order_by(FirewallChange.created_at)
        if status:
            stmt = stmt.where(FirewallChange.status == status)
        return list(self.session.scalars(stmt))

    def change(self, change_id: uuid.UUID) -> FirewallChange:
        found = self.session.get(FirewallChange, change_id)
        if found is None:
            raise NotFound(f"firewall change {change_id} not found")
        return found

    def propose(self, data: FirewallProposalIn, principal: Principal) -> FirewallChange:
        """Record a proposed change; it applies only when a second officer approves it."""
        _officer(principal)
        if principal.user_id is None:
            raise Forbidden("firewall changes need a named governance officer, not an API key")
        self.ensure_defaults()
        existing = self.session.scalar(select(FirewallRule).where(FirewallRule.key == data.key))
        if data.operation == "create" and existing is not None:
            raise Conflict("a firewall rule with this key exists; propose an update", field="key")
        if data.operation != "create" and (existing is None or not existing.active):
            raise InvalidInput("no active firewall rule has this key", field="key")
        proposed = data.rule.model_dump() if data.rule else {}
        if data.rule is not None:
            terms = FirewallTerms(
                key=data.key,
                title=data.rule.title,
                categories=tuple(data.rule.categories),
                data_items=tuple(data.rule.data_items),
                purposes=tuple(data.rule.purposes),
                actions=tuple(data.rule.actions),
                sources=tuple(data.rule.sources),
            )
            errors = cedar.validate(cedar.policy_text([cedar.compile_firewall(terms)]))
            if errors:
                raise InvalidInput(f"the rule does not compile: {errors[0]}", field="rule")
        change = FirewallChange(
            operation=data.operation,
            rule_key=data.key,
            proposed=proposed,
            reason=data.reason,
            proposed_by=principal.user_id,
        )
        self.session.add(change)
        self.session.flush()
        _audit(
            self.session,
            principal,
            "firewall.propose",
            change_id=str(change.id),
            operation=data.operation,
            rule=data.key,
        )
        self.session.flush()
        return change

    def approve(self, change_id: uuid.UUID, principal: Principal, note: str = "") -> FirewallChange:
        """A second governance officer signs the change off; it applies at once."""
        _officer(principal)
        change = self._pending(change_id)
        if principal.user_id is None or principal.user_id == change.proposed_by:
            raise Forbidden("a firewall change needs sign-off by a second governance officer")
        rule = self.session.scalar(select(FirewallRule).where(FirewallRule.key == change.rule_key))
        if change.operation == "create":
            if rule is not None:
                raise Conflict(f"a firewall rule '{change.rule_key}' exists", field="key")
            rule = FirewallRule(key=change.rule_key, **change.proposed)
            self.session.add(rule)
        elif rule is None or not rule.active:
            raise Conflict(f"no active firewall rule '{change.rule_key}'", field="key")
        elif change.operation == "update":
            for field, value in change.proposed.items():
                setattr(rule, field, value)
            rule.version += 1
        else:
            rule.active = False
            rule.version += 1
        change.status = "approved"
        change.decided_by = principal.user_id
        change.decided_at = utcnow()
        change.decision_note = note
        self.session.flush()
        bump(self.session)
        _audit(
            self.session,
            principal,
            "firewall.change",
            change_id=str(change.id),
            operation=change.operation,
            rule=change.rule_key,
            proposed_by=str(change.proposed_by),
            version=rule.version,
        )
        self.session.flush()
        return change

    def reject(self, change_id: uuid.UUID, principal: Principal, note: str = "") -> FirewallChange:
        _officer(principal)
        change = self._pending(change_id)
        change.status = "rejected"
        change.decided_by = principal.user_id
        change.decided_at = utcnow()
        change.decision_note = note
        _audit(
            self.session,
            principal,
            "firewall.reject",
            change_id=str(change.id),
            rule=change.rule_key,
        )
        self.session.flush()
        return change

    def _pending(self, change_id: uuid.UUID) -> FirewallChange:
        change = self.change(change_id)
        if change.status != "pending":
            raise Conflict(f"this change is already {change.status}", field="status")
        return change


class PauseService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, *, current_only: bool = False) -> list[Pause]:
        rows = list(self.session.scalars(select(Pause).order_by(Pause.starts_at)))
        if current_only:
            now = utcnow()
            rows = [p for p in rows if in_force(p, now)]
        return rows

    def page(self, *, limit: int = 50, offset: int = 0) -> tuple[Sequence[Pause], int]:
        """The pause register a page at a time, newest first, and how many pauses there are."""
        total = int(self.session.scalar(select(func.count()).select_from(Pause)) or 0)
        stmt = select(Pause).order_by(Pause.starts_at.desc(), Pause.id.desc())
        return list(self.session.scalars(stmt.limit(limit).offset(offset))), total

    def get(self, pause_id: uuid.UUID) -> Pause:
        pause = self.session.get(Pause, pause_id)
        if pause is None:
            raise NotFound(f"pause {pause_id} not found")
        return pause

    def create(self, data: PauseIn, principal: Principal) -> Pause:
        """Record a pause; it blocks matching disclosures from its start. Nothing is written
        if any field is invalid (InvalidInput names the field)."""
        _officer(principal)
        starts = data.starts_at or utcnow()
        if data.ends_at is not None and data.ends_at <= starts:
            raise InvalidInput("the pause ends before it starts", field="ends_at")
        if (
            data.age_over is not None
            and data.age_under is not None
            and data.age_under <= data.age_over + 1
        ):
            raise InvalidInput("no age is both over and under these limits", field="age_under")
        agreements = AgreementService(self.session)
        ids = []
        for i, ref in enumerate(data.agreements):
            try:
                ids.append(str(agreements.resolve(ref).id))
            except NotFound:
                raise InvalidInput(
                    "no agreement with this reference", field=f"agreements[{i}]"
                ) from None
        pause = Pause(
            id=new_id(),
            title=data.title,
            reason=data.reason,
            owner_id=principal.user_id,
            agreement_ids=ids,
            purposes=list(data.purposes),
            actions=list(data.actions),
            age_over=data.age_over,
            age_under=data.age_under,
            starts_at=starts,
            ends_at=data.ends_at,
        )
        errors = cedar.validate(cedar.policy_text([cedar.compile_pause(pause_terms(pause))]))
        if errors:
            raise InvalidInput(f"the pause does not compile: {errors[0]}", field="pause")
        self.session.add(pause)
        self.session.flush()
        bump(self.session)
        _audit(
            self.session,
            principal,
            "pause.create",
            pause_id=str(pause.id),
            agreements=ids,
            purposes=list(data.purposes),
            actions=list(data.actions),
            age_over=data.age_over,
            age_under=data.age_under,
            starts_at=starts.isoformat(),
            ends_at=data.ends_at.isoformat() if data.ends_at else None,
        )
        self.session.flush()
        return pause

    def lift(self, pause_id: uuid.UUID, principal: Principal, reason: str) -> Pause:
        """End a pause now (it stays in the register, with who lifted it and why)."""
        _officer(principal)
        if not reason.strip():
            raise InvalidInput("a reason is required to lift a pause", field="reason")
        pause = self.get(pause_id)
        now = utcnow()
        if pause.ends_at is not None and pause.ends_at <= now:
            raise Conflict("this pause has already ended", field="ends_at")
        pause.ends_at = max(now, pause.starts_at)
        pause.lifted_by = principal.user_id
        pause.lift_reason = reason
        bump(self.session)
        _audit(self.session, principal, "pause.lift", pause_id=str(pause.id))
        self.session.flush()
        return pause


def in_force(pause: Pause, at: datetime) -> bool:
    return pause.starts_at <= at and (pause.ends_at is None or at < pause.ends_at)


class PolicyService:
    """Showing the compiled policies and trying a decision without disclosing anything."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def cedar_text(self, agreement_ref: str | None = None) -> tuple[str, list[str]]:
        """Cedar text of the whole register, or of one agreement's slice; and any warnings."""
        engine = load_engine(self.session)
        if agreement_ref is None:
            return cedar.format_text(cedar.policy_text(engine.all_policies())), []
        agreement = AgreementService(self.session).resolve(agreement_ref)
        terms = AgreementTerms.of(agreement)
        permits = cedar.compile_agreement(terms)
        warnings = []
        if not permits:
            warnings.append(
                f"agreement {terms.reference} permits nothing: it is {terms.state}"
                + ("" if terms.signed_off else " and not signed off")
            )
        else:
            warnings += activation_warnings(self.session, agreement)
        text = cedar.policy_text(permits + engine.forbids + cedar.base_policies())
        return cedar.format_text(text), warnings

    def try_request(self, data: DecisionRequestIn, principal: Principal | None = None) -> Decision:
        """Evaluate a request as the named organisation would make it; discloses nothing.

        Only governance officers and auditors may try decisions (``principal`` None: the CLI
        operator).
        """
        if principal is not None:
            principal.require(Role.GOVERNANCE_OFFICER, Role.AUDITOR)
        org = self._organisation(data.organisation)
        scope = None
        if data.key_agreements is not None:
            scope = frozenset(self._agreement_id(a, "key_agreements") for a in data.key_agreements)
        asker = Principal(
            organisation_id=org.id,
            roles=frozenset({Role.PARTNER_USER}),
            api_key_id=uuid.UUID(int=0) if scope is not None else None,
            agreement_scope=scope,
        )
        return decide(self.session, self._request(data, asker))

    def try_own_request(self, data: DecisionRequestIn, principal: Principal) -> Decision:
        """A partner asks whether its own request would be allowed, under its key's scope."""
        org = self._organisation(data.organisation)
        if org.id != principal.organisation_id:
            raise Forbidden("a partner may only try its own organisation's requests")
        return decide(self.session, self._request(data, principal, principal))

    def _agreement_id(self, ref: str, field: str, reader: Principal | None = None) -> uuid.UUID:
        try:
            return AgreementService(self.session).resolve(ref, reader).id
        except NotFound:
            raise InvalidInput("no agreement with this reference", field=field) from None

    def _request(
        self, data: DecisionRequestIn, asker: Principal, reader: Principal | None = None
    ) -> DisclosureRequest:
        agreement_id = None
        items = _default_items(data.purpose)
        if data.agreement:
            agreement_id = self._agreement_id(data.agreement, "agreement", reader)
            found: Agreement | None = AgreementService(self.session).get(agreement_id)
        else:
            found = agreement_for(self.session, asker, data.purpose, on=data.at)
        if found is not None:
            items = tuple(i for i in items if i in found.data_items)
        s = data.subject
        return DisclosureRequest(
            principal=asker,
            action=data.action,
            agreement_id=agreement_id,
            purpose=data.purpose,
            data_items=tuple(data.data_items or items),
            subject=Subject(
                ref=s.ref,
                date_of_birth=s.date_of_birth,
                categories=frozenset(s.categories),
                appeal_state=s.appeal_state,
                locks=frozenset(s.locks),
            ),
            check_method=data.check_method,
            at=data.at,
        )

    def _organisation(self, name_or_id: str) -> Organisation:
        org = None
        try:
            org = self.session.get(Organisation, uuid.UUID(name_or_id))
        except ValueError:
            org = self.session.scalar(select(Organisation).where(Organisation.name == name_or_id))
        if org is None:
            raise InvalidInput("no organisation with this name or id", field="organisation")
        return org


def _default_items(purpose: str) -> tuple[str, ...]:
    return PURPOSES[purpose].answer_shape

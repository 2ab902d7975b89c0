"""The agreement register's operations: the only code that writes agreements."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation, Role, User
from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.direction import direction_of, operator_ids
from shareguard.agreements.models import Agreement, AgreementEvent, AgreementParty, AgreementState
from shareguard.agreements.retention import missing_rules
from shareguard.agreements.schemas import AgreementIn
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.storage.base import today, utcnow

#: Checklist items an agreement needs before activation, with the title shown to people.
REQUIRED: dict[str, str] = {
    "legal_gateway_statute": "legal gateway (statute)",
    "legal_gateway_section": "legal gateway (section)",
    "lawful_basis": "lawful basis (UK GDPR Art 6)",
    "dpia_reference": "DPIA reference",
    "dpia_date": "DPIA date",
    "necessity_statement": "necessity and proportionality statement",
    "data_standards": "data standards and accuracy checks",
    "rights_handling": "individuals' rights handling",
    "contact_point": "single point of contact",
    "retention": "retention and deletion",
    "security_measures": "security measures",
    "frequency": "frequency",
    "limit_per_day": "volume limit (records per day)",
    "start_date": "start date",
    "review_date": "review date",
    "termination_procedure": "termination procedure",
    "amendment_duty": "duty to inform partners of amendments",
    "decision_maker": "decision-maker",
}

#: What an agreement reference looks like (``AgreementIn.reference``), with a letter in it
#: (so that a date of birth is not taken for one).
_REFERENCE = re.compile(r"(?=.*[A-Z])[A-Z0-9][A-Z0-9\-]{2,39}")


def unknown_agreement(sent: object, message: str = "agreement {} not found") -> str:
    """``message`` naming what was sent only if it is shaped like an agreement reference or
    id: a caller may paste anything there, a person's name included (never echoed)."""
    text = str(sent).strip()
    if not _REFERENCE.fullmatch(text):
        try:
            text = str(uuid.UUID(text))
        except ValueError:
            return "no agreement has that reference or id"
    return message.format(text)


#: Staff who may read every agreement; other principals see only those they are party to.
STAFF_READERS = (Role.GOVERNANCE_OFFICER, Role.AUDITOR, Role.CASEWORKER, Role.REVIEWER)

#: Allowed lifecycle moves: action -> (from states, to state).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "activate": (frozenset({AgreementState.DRAFT}), AgreementState.ACTIVE),
    "pause": (frozenset({AgreementState.ACTIVE}), AgreementState.PAUSED),
    "resume": (frozenset({AgreementState.PAUSED}), AgreementState.ACTIVE),
    "end": (
        frozenset({AgreementState.DRAFT, AgreementState.ACTIVE, AgreementState.PAUSED}),
        AgreementState.ENDED,
    ),
}

#: Called after any change that alters what agreements permit (policy cache, audit).
ChangeListener = Callable[[Session, Agreement, str, Principal], None]
_listeners: list[ChangeListener] = []


def on_change(listener: ChangeListener) -> ChangeListener:
    """Register a listener run inside the changing transaction, before commit."""
    _listeners.append(listener)
    return listener


def missing_items(agreement: Agreement, operators: frozenset[uuid.UUID] = frozenset()) -> list[str]:
    """Titles of every checklist item the agreement still lacks, in checklist order.

    ``operators`` (``direction.operator_ids``) tells which way the agreement's data flows,
    and so which kinds of record need a machine-readable retention rule; without them the
    agreement is taken as outbound.
    """
    missing = [title for attr, title in REQUIRED.items() if getattr(agreement, attr) in (None, "")]
    direction = direction_of(agreement.disclosers(), agreement.recipients(), operators)
    missing += missing_rules(agreement.retention_rules, direction, agreement.bulk)
    needs_condition = any(
        DATA_ITEMS[i].special_category or DATA_ITEMS[i].criminal_offence
        for i in agreement.data_items
    )
    if needs_condition and not agreement.special_category_condition:
        missing.append("Art 9/10 condition for special-category or criminal-offence data")
    roles = {p.role for p in agreement.parties}
    if "discloser" not in roles:
        missing.append("a disclosing party")
    if "recipient" not in roles:
        missing.append("a receiving party")
    return missing


class AgreementService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # reading -----------------------------------------------------------------------
    def get(self, agreement_id: uuid.UUID, principal: Principal | None = None) -> Agreement:
        agreement = self.session.get(Agreement, agreement_id)
        if agreement is None or (principal and not self._may_read(principal, agreement)):
            # Same answer for "absent" and "not yours": no probing other parties' agreements.
            raise NotFound(f"agreement {agreement_id} not found")
        return agreement

    def by_reference(self, reference: str) -> Agreement:
        agreement = self.session.scalar(select(Agreement).where(Agreement.reference == reference))
        if agreement is None:
            raise NotFound(unknown_agreement(reference))
        return agreement

    def resolve(self, id_or_reference: str, principal: Principal | None = None) -> Agreement:
        try:
            return self.get(uuid.UUID(id_or_reference), principal)
        except ValueError:
            agreement = self.by_reference(id_or_reference)
            if principal and not self._may_read(principal, agreement):
                raise NotFound(unknown_agreement(id_or_reference)) from None
            return agreement

    def find(
        self,
        principal: Principal | None = None,
        *,
        state: str | None = None,
        purpose: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Agreement], int]:
        stmt = select(Agreement)
        if state:
            stmt = stmt.where(Agreement.state == state)
        if principal is not None and not principal.has(*STAFF_READERS):
            party_of = select(AgreementParty.agreement_id).where(
                AgreementParty.organisation_id == principal.organisation_id
            )
            stmt = stmt.where(Agreement.id.in_(party_of))
        rows = list(self.session.scalars(stmt.order_by(Agreement.reference)))
        if purpose:
            rows = [a for a in rows if purpose in a.purposes]
        return rows[offset : offset + limit], len(rows)

    def for_organisation(self, organisation_id: uuid.UUID) -> list[Agreement]:
        stmt = (
            select(Agreement)
            .join(AgreementParty)
            .where(AgreementParty.organisation_id == organisation_id)
            .order_by(Agreement.reference)
        )
        return list(self.session.scalars(stmt).unique())

    def _may_read(self, principal: Principal, agreement: Agreement) -> bool:
        if principal.has(*STAFF_READERS):
            return True
        return principal.organisation_id in {p.organisation_id for p in agreement.parties}

    # writing -----------------------------------------------------------------------
    def create(self, data: AgreementIn, principal: Principal) -> Agreement:
        """Record a draft. Raises InvalidInput naming the field at fault; writes nothing then."""
        principal.require(Role.GOVERNANCE_OFFICER)
        if self.session.scalar(select(Agreement.id).where(Agreement.reference == data.reference)):
            raise Conflict("an agreement with this reference exists", field="reference")
        self._check_consistency(data)
        parties = [
            AgreementParty(
                organisation_id=self._organisation(p.organisation, f"parties[{i}].organisation").id,
                role=p.role,
                controller_role=p.controller_role,
            )
            for i, p in enumerate(data.parties)
        ]
        fields = data.model_dump(exclude={"parties"})
        agreement = Agreement(**fields, parties=parties, author_id=principal.user_id)
        agreement.state = AgreementState.DRAFT
        self.session.add(agreement)
        self.session.flush()
        self._event(agreement, "create", None, AgreementState.DRAFT, principal, "created as draft")
        self._notify(agreement, "create", principal)
        self.session.flush()
        return agreement

    def check(self, data: AgreementIn) -> list[InvalidInput | Conflict]:
        """What ``create`` would refuse, writing nothing: for a page that confirms first."""
        problems: list[InvalidInput | Conflict] = []
        if self.session.scalar(select(Agreement.id).where(Agreement.reference == data.reference)):
            problems.append(Conflict("an agreement with this reference exists", field="reference"))
        try:
            self._check_consistency(data)
        except InvalidInput as exc:
            problems.append(exc)
        for i, p in enumerate(data.parties):
            try:
                self._organisation(p.organisation, f"parties[{i}].organisation")
            except InvalidInput as exc:
                problems.append(exc)
        return problems

    def transition(
        self, agreement_id: uuid.UUID, action: str, principal: Principal, reason: str = ""
    ) -> Agreement:
        """Move an agreement through its lifecycle, keeping actor, time and reason."""
        principal.require(Role.GOVERNANCE_OFFICER)
        if action not in TRANSITIONS:
            raise InvalidInput(
                f"unknown action; use one of {', '.join(TRANSITIONS)}", field="action"
            )
        agreement = self.get(agreement_id)
        sources, target = TRANSITIONS[action]
        if agreement.state not in sources:
            raise Conflict(f"cannot {action} an agreement that is {agreement.state}", field="state")
        if action in {"pause", "end"} and not reason.strip():
            raise InvalidInput(f"a reason is required to {action} an agreement", field="reason")
        if action == "activate":
            self._check_activation(agreement, principal)
        previous = agreement.state
        agreement.state = target
        self._event(agreement, action, previous, target, principal, reason)
        self._notify(agreement, action, principal)
        self.session.flush()
        return agreement

    def review(
        self, agreement_id: uuid.UUID, next_review_date: date, principal: Principal, reason: str
    ) -> Agreement:
        """Record a review: the agreement permits again until ``next_review_date``."""
        principal.require(Role.GOVERNANCE_OFFICER)
        agreement = self.get(agreement_id)
        if agreement.state == AgreementState.ENDED:
            raise Conflict("an ended agreement cannot be reviewed", field="state")
        if next_review_date <= today():
            raise InvalidInput(
                "the next review date must be in the future", field="next_review_date"
            )
        if agreement.end_date and next_review_date > agreement.end_date:
            raise InvalidInput(
                "the next review date is after the agreement ends", field="next_review_date"
            )
        agreement.review_date = next_review_date
        self._event(
            agreement,
            "review",
            agreement.state,
            agreement.state,
            principal,
            f"reviewed; next review {next_review_date.isoformat()}. {reason}".strip(),
        )
        self._notify(agreement, "review", principal)
        self.session.flush()
        return agreement

    # internals ---------------------------------------------------------------------
    def _check_consistency(self, data: AgreementIn) -> None:
        allowed = {item for code in data.purposes for item in PURPOSES[code].answer_shape}
        for i, item in enumerate(data.data_items):
            if item not in allowed:
                raise InvalidInput(
                    f"data item '{item}' is outside the answer shape of the agreement's purposes",
                    field=f"data_items[{i}]",
                )
        if data.end_date and data.start_date and data.end_date < data.start_date:
            raise InvalidInput("end date is before start date", field="end_date")
        if data.review_date and data.start_date and data.review_date < data.start_date:
            raise InvalidInput("review date is before start date", field="review_date")
        if data.end_date and data.review_date and data.review_date > data.end_date:
            raise InvalidInput("review date is after end date", field="review_date")

    def _check_activation(self, agreement: Agreement, principal: Principal) -> None:
        missing = missing_items(agreement, operator_ids(self.session))
        if missing:
            raise InvalidInput(
                "cannot activate: missing " + "; ".join(missing), field="agreement", missing=missing
            )
        if agreement.author_id is not None and agreement.author_id == principal.user_id:
            raise Forbidden("sign-off must come from a governance officer other than the author")
        if principal.user_id is None:
            raise Forbidden("sign-off needs a named governance officer, not an API key")
        if agreement.review_lapsed(today()):
            raise InvalidInput("cannot activate: the review date has passed", field="review_date")
        agreement.signed_off_by = principal.user_id
        agreement.signed_off_at = utcnow()

    def _organisation(self, name_or_id: str, field: str) -> Organisation:
        org: Organisation | None = None
        try:
            org = self.session.get(Organisation, uuid.UUID(name_or_id))
        except ValueError:
            org = self.session.scalar(select(Organisation).where(Organisation.name == name_or_id))
        if org is None:
            raise InvalidInput("no organisation with this name or id", field=field)
        return org

    def _event(
        self,
        agreement: Agreement,
        action: str,
        from_state: str | None,
        to_state: str,
        principal: Principal,
        reason: str,
    ) -> None:
        event = AgreementEvent(
            agreement_id=agreement.id,
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor_id=principal.user_id,
            reason=reason,
        )
        self.session.add(event)
        agreement.events.append(event)

    def _notify(self, agreement: Agreement, action: str, principal: Principal) -> None:
        for listener in _listeners:
            listener(self.session, agreement, action, principal)


def user_name(session: Session, user_id: uuid.UUID | None) -> str:
    if user_id is None:
        return "system"
    user = session.get(User, user_id)
    return user.display_name if user else str(user_id)

"""The Cedar adapter: the domain schema and the pure compilation of terms into policy text.

Nothing here touches the database. Agreements, firewall rules and pauses arrive as frozen
snapshots (``AgreementTerms``, ``FirewallTerms``, ``PauseTerms``) and leave as Cedar text, each
policy carrying an ``@id`` annotation that names what it came from ("agreement:<id>",
"firewall:<key>", "pause:<id>", "lock:attribute_checks"), so a decision can say why.

Time-dependent terms (an agreement's start, end and review dates; a pause's window) are
compiled as conditions on ``context.day`` / ``context.time``, so the passage of time never
needs a rebuild: only a change to the terms does.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shareguard.agreements.catalogue import PURPOSES

ACTIONS = (
    "check",
    "bulk_disclosure",
    "export",
    "subject_access",
    "request",
    "answer",
    "submit",
)
#: Actions whose principal receives the data (the discloser is the agreement's other party).
RECEIVING_ACTIONS = ("check", "bulk_disclosure", "export", "request")
#: Actions whose principal discloses the data: answering a request, submitting records.
DISCLOSING_ACTIONS = ("answer", "submit")

SCHEMA = """\
// shareguard's Cedar schema: who may receive which data items about whom, and why.
entity Organisation;
entity User in [Organisation];
entity Person = {
  age: Long,                 // whole years on the decision date; 0 when unknown
  age_known: Bool,
  categories: Set<String>,   // pupil, patient, victim, witness
  appeal_state: String,      // none, lodged, pending, decided
  locks: Set<String>,        // the person's locks, e.g. attribute_checks
};
type DisclosureContext = {
  agreement: String,         // agreement id, "" when none
  purpose: String,
  data_items: Set<String>,   // what the recipient will receive
  offered_items: Set<String>, // every item the sender carried (a superset of data_items)
  discloser: String,         // organisation id the data flows from, "" when none
  recipient: String,         // organisation id the data flows to, "" when none
  discloser_type: String,    // the discloser's organisation type: nhs_body, school, ...
  time: Long,                // decision time, seconds since the Unix epoch (UTC)
  day: Long,                 // decision date as a proleptic Gregorian ordinal
  check_method: String,      // one of catalogue.CHECK_METHODS, or ""
  own_record: Bool,          // the person is looking at their own data
  staff: Bool,               // a caseworker acting for the person
};
action check, bulk_disclosure, export, subject_access, request, answer, submit appliesTo {
  principal: [Organisation, User],
  resource: [Person],
  context: DisclosureContext,
};
"""

#: Cedar text policies that are always present, whatever the register holds.
LOCK_POLICY_ID = "lock:attribute_checks"
SUBJECT_ACCESS_POLICY_ID = "base:subject_access_self"


def statutory_purposes() -> list[str]:
    return sorted(code for code, p in PURPOSES.items() if p.statutory)


def enforcement_purposes() -> list[str]:
    return sorted(code for code, p in PURPOSES.items() if p.enforcement)


@dataclass(frozen=True)
class AgreementTerms:
    """What an agreement permits, as the policy compiler needs it."""

    id: uuid.UUID
    reference: str
    title: str
    state: str
    signed_off: bool
    recipients: tuple[uuid.UUID, ...]
    purposes: tuple[str, ...]
    data_items: tuple[str, ...]
    bulk: bool = False
    #: The parties the data flows from; empty in terms built without them (then any).
    disclosers: tuple[uuid.UUID, ...] = ()
    start_date: date | None = None
    end_date: date | None = None
    review_date: date | None = None
    limit_per_day: int | None = None
    limit_per_run: int | None = None

    @classmethod
    def of(cls, agreement: Any) -> AgreementTerms:
        return cls(
            id=agreement.id,
            reference=agreement.reference,
            title=agreement.title,
            state=str(agreement.state),
            signed_off=agreement.signed_off_by is not None,
            recipients=tuple(agreement.recipients()),
            purposes=tuple(agreement.purposes),
            data_items=tuple(agreement.data_items),
            bulk=bool(agreement.bulk),
            disclosers=tuple(agreement.disclosers()),
            start_date=agreement.start_date,
            end_date=agreement.end_date,
            review_date=agreement.review_date,
            limit_per_day=agreement.limit_per_day,
            limit_per_run=agreement.limit_per_run,
        )

    @property
    def actions(self) -> tuple[str, ...]:
        """What a recipient may do: checks and requests one person at a time; bulk agreements
        also allow proactive sharing."""
        if self.bulk:
            return ("check", "bulk_disclosure", "export", "request")
        return ("check", "request")

    @property
    def discloser_actions(self) -> tuple[str, ...]:
        """What a discloser may do: answer a recipient's request, submit records to it."""
        return DISCLOSING_ACTIONS

    def state_problem(self, on: date) -> str | None:
        """Why the agreement permits nothing on ``on`` (plain English), or None if in force."""
        if self.state == "draft":
            return "is a draft"
        if self.state == "paused":
            return "is paused"
        if self.state == "ended":
            return "has ended"
        if self.state != "active":
            return f"is {self.state}"
        if not self.signed_off:
            return "has no sign-off"
        if self.start_date is not None and on < self.start_date:
            return f"does not start until {self.start_date.isoformat()}"
        if self.end_date is not None and on > self.end_date:
            return f"ended on {self.end_date.isoformat()}"
        if self.review_date is not None and self.review_date < on:
            return f"lapsed: its review was due on {self.review_date.isoformat()}"
        return None


@dataclass(frozen=True)
class FirewallTerms:
    """A forbid rule no agreement overrides. Empty ``purposes`` means every enforcement purpose."""

    key: str
    title: str
    categories: tuple[str, ...] = ()
    data_items: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    id: uuid.UUID | None = None
    #: Organisation types whose data the rule protects whichever way it flows (nhs_body: any
    #: data an NHS body discloses for a guarded purpose).
    sources: tuple[str, ...] = ()

    def guarded_purposes(self) -> tuple[str, ...]:
        return self.purposes or tuple(enforcement_purposes())


@dataclass(frozen=True)
class PauseTerms:
    """A temporary forbid: scope (agreements, purposes, actions, ages), window, reason."""

    id: uuid.UUID
    title: str
    reason: str
    starts_at: datetime
    ends_at: datetime | None = None
    agreement_ids: tuple[uuid.UUID, ...] = ()
    purposes: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    age_over: int | None = None
    age_under: int | None = None
    references: tuple[str, ...] = field(default=(), compare=False)


def _str(value: str) -> str:
    return json.dumps(value)


def _set(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_str(v) for v in values) + "]"


def _actions(actions: tuple[str, ...]) -> str:
    if not actions:
        return "action"
    if len(actions) == 1:
        return f'action == Action::"{actions[0]}"'
    return "action in [" + ", ".join(f'Action::"{a}"' for a in actions) + "]"


def agreement_policy_id(terms: AgreementTerms) -> str:
    return f"agreement:{terms.id}"


def compile_agreement(terms: AgreementTerms) -> list[tuple[str, str]]:
    """Permit policies for one agreement: one per party; nothing unless active and signed.

    A recipient may receive (check, request; bulk sharing when bulk) from the agreement's
    disclosers; a discloser may answer and submit to the agreement's recipients. Each permit
    names both parties, so data can flow only the way the agreement says.
    """
    if terms.state != "active" or not terms.signed_off or not terms.purposes:
        return []
    common = [
        f"context.agreement == {_str(str(terms.id))}",
        f"{_set(sorted(terms.purposes))}.contains(context.purpose)",
        f"{_set(sorted(terms.data_items))}.containsAll(context.data_items)",
    ]
    if terms.start_date:
        common.append(f"context.day >= {terms.start_date.toordinal()}")
    if terms.end_date:
        common.append(f"context.day <= {terms.end_date.toordinal()}")
    if terms.review_date:
        common.append(f"context.day <= {terms.review_date.toordinal()}")
    pid = agreement_policy_id(terms)
    out = []
    disclosers = sorted(str(d) for d in terms.disclosers)
    recipients = sorted(str(r) for r in terms.recipients)
    for org in terms.recipients:
        conditions = [*common, f"context.recipient == {_str(str(org))}"]
        if disclosers:  # terms built without parties (tests, benchmarks) leave it open
            conditions.append(f"{_set(disclosers)}.contains(context.discloser)")
        out.append(_permit(pid, terms, org, terms.actions, conditions))
    for org in terms.disclosers:
        conditions = [
            *common,
            f"context.discloser == {_str(str(org))}",
            f"{_set(recipients)}.contains(context.recipient)",
        ]
        out.append(_permit(pid, terms, org, terms.discloser_actions, conditions))
    return out


def _permit(
    pid: str, terms: AgreementTerms, org: uuid.UUID, actions: tuple[str, ...], conditions: list[str]
) -> tuple[str, str]:
    when = " &&\n  ".join(conditions)
    return (
        pid,
        f'@id("{pid}")\n@reference({_str(terms.reference)})\n'
        f'permit (principal in Organisation::"{org}", {_actions(actions)}, resource)\n'
        f"when {{\n  {when}\n}};",
    )


def compile_firewall(rule: FirewallTerms) -> tuple[str, str]:
    """One forbid: a guarded purpose and (a protected category, a protected data item among
    those offered, or data from a protected kind of organisation), whichever way it flows."""
    pid = f"firewall:{rule.key}"
    guards = []
    if rule.categories:
        guards.append(f"resource.categories.containsAny({_set(sorted(rule.categories))})")
    if rule.data_items:
        guards.append(f"context.offered_items.containsAny({_set(sorted(rule.data_items))})")
    if rule.sources:
        guards.append(f"{_set(sorted(rule.sources))}.contains(context.discloser_type)")
    condition = f"{_set(sorted(rule.guarded_purposes()))}.contains(context.purpose)"
    if guards:
        condition += " &&\n  (" + " || ".join(guards) + ")"
    return (
        pid,
        f'@id("{pid}")\nforbid (principal, {_actions(rule.actions)}, resource)\n'
        f"when {{\n  {condition}\n}};",
    )


def compile_pause(pause: PauseTerms) -> tuple[str, str]:
    """One forbid within the pause's window; ages are computed at decision time.

    A person whose age is unknown counts as matching an age predicate: a pause fails closed.
    """
    pid = f"pause:{pause.id}"
    conditions = [f"context.time >= {int(pause.starts_at.timestamp())}"]
    if pause.ends_at is not None:
        conditions.append(f"context.time < {int(pause.ends_at.timestamp())}")
    if pause.agreement_ids:
        conditions.append(
            f"{_set(sorted(str(a) for a in pause.agreement_ids))}.contains(context.agreement)"
        )
    if pause.purposes:
        conditions.append(f"{_set(sorted(pause.purposes))}.contains(context.purpose)")
    if pause.age_over is not None:
        conditions.append(f"(!resource.age_known || resource.age > {pause.age_over})")
    if pause.age_under is not None:
        conditions.append(f"(!resource.age_known || resource.age < {pause.age_under})")
    when = " &&\n  ".join(conditions)
    return (
        pid,
        f'@id("{pid}")\nforbid (principal, {_actions(pause.actions)}, resource)\n'
        f"when {{\n  {when}\n}};",
    )


def base_policies() -> list[tuple[str, str]]:
    """The person's attribute-check lock, and the person's own subject access."""
    return [
        (
            LOCK_POLICY_ID,
            f'@id("{LOCK_POLICY_ID}")\nforbid (principal, action == Action::"check", resource)\n'
            'when {\n  context.check_method == "attributes" &&\n'
            '  resource.locks.contains("attribute_checks") &&\n'
            f"  !{_set(statutory_purposes())}.contains(context.purpose)\n}};",
        ),
        (
            SUBJECT_ACCESS_POLICY_ID,
            f'@id("{SUBJECT_ACCESS_POLICY_ID}")\n'
            'permit (principal, action == Action::"subject_access", resource)\n'
            "when { context.own_record || context.staff };",
        ),
    ]


def policy_text(policies: list[tuple[str, str]]) -> str:
    return "\n\n".join(text for _, text in policies) + ("\n" if policies else "")


def cedarpy() -> Any:
    """The cedarpy module, imported lazily with a clear error if it is missing."""
    try:  # a native extension: loaded when the first policy is compiled, with a clear error
        import cedarpy as mod
    except ImportError as exc:  # pragma: no cover - installed with the package
        raise RuntimeError("the policy engine needs cedarpy: pip install cedarpy") from exc
    return mod


def validate(text: str) -> list[str]:
    """Schema validation errors for policy text (empty when valid)."""
    mod = cedarpy()
    result = mod.validate_policies(text, _schema_handle())
    return [str(e) for e in result.errors]


_SCHEMA: Any = None


def _schema_handle() -> Any:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = cedarpy().Schema.from_str(SCHEMA)
    return _SCHEMA


def format_text(text: str) -> str:
    return str(cedarpy().format_policies(text)) if text.strip() else ""

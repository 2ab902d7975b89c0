"""The pure decision core: compiled policy slices and their evaluation (no I/O).

An ``Engine`` is built from snapshots of the register (agreements, firewall rules, pauses).
Cedar evaluates every policy it is given, so each principal organisation gets its own
*slice* — the permits of agreements it receives under, plus every forbid — parsed once into
a ``PolicySet`` handle and kept for the engine's life. Per-decision cost then depends on how
many agreements one organisation has, not on the size of the register.
"""

from __future__ import annotations

import bisect
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import CHECK_METHODS, DATA_ITEMS, PURPOSES
from shareguard.errors import InvalidInput
from shareguard.policy import cedar
from shareguard.policy.cedar import AgreementTerms, FirewallTerms, PauseTerms
from shareguard.policy.types import Decision, DisclosureRequest, Subject
from shareguard.storage.base import utcnow

_NO_SUBJECT = Subject(ref="none")
_MEMO_MAX = 50_000


_ORDER = {"firewall": 0, "pause": 1, "lock": 2, "agreement": 3, "base": 4}


def _precedence(policy_id: str) -> tuple[int, str]:
    """Determining policies in a stable order (Cedar reports them as a set): firewall first."""
    return _ORDER.get(policy_id.partition(":")[0], 5), policy_id


def _side(thresholds: list[int], value: int) -> tuple[int, int]:
    """Where ``value`` lies among sorted thresholds: enough to decide <, <=, >, >= against each."""
    return bisect.bisect_left(thresholds, value), bisect.bisect_right(thresholds, value)


@dataclass(frozen=True)
class _Slice:
    text: str
    handle: Any


def check_request(request: DisclosureRequest) -> None:
    """Raise InvalidInput for a request no policy can read (unknown action, purpose, item)."""
    if request.action not in cedar.ACTIONS:
        raise InvalidInput(
            f"unknown action '{request.action}'; use one of {', '.join(cedar.ACTIONS)}",
            field="action",
        )
    if request.action != "subject_access" and request.purpose not in PURPOSES:
        raise InvalidInput(f"unknown purpose '{request.purpose}'", field="purpose")
    for i, item in enumerate(request.data_items):
        if item not in DATA_ITEMS:
            raise InvalidInput(f"unknown data item '{item}'", field=f"data_items[{i}]")
    for i, item in enumerate(request.offered_items):
        if item not in DATA_ITEMS:
            raise InvalidInput(f"unknown data item '{item}'", field=f"offered_items[{i}]")
    if request.check_method and request.check_method not in CHECK_METHODS:
        raise InvalidInput(
            f"check_method must be one of {', '.join(CHECK_METHODS)}", field="check_method"
        )
    if request.at is not None and request.at.tzinfo is None:
        raise InvalidInput("decision time must carry a UTC offset", field="at")


class Engine:
    """Decides requests against one generation of the register. Thread-safe; immutable terms."""

    def __init__(
        self,
        agreements: Iterable[AgreementTerms],
        firewall: Iterable[FirewallTerms],
        pauses: Iterable[PauseTerms],
    ) -> None:
        self.agreements: dict[uuid.UUID, AgreementTerms] = {a.id: a for a in agreements}
        self.firewall: dict[str, FirewallTerms] = {r.key: r for r in firewall}
        self.pauses: dict[uuid.UUID, PauseTerms] = {p.id: p for p in pauses}
        self._by_org: dict[uuid.UUID, list[AgreementTerms]] = {}
        for a in self.agreements.values():
            for org in dict.fromkeys((*a.recipients, *a.disclosers)):
                self._by_org.setdefault(org, []).append(a)
        self.forbids: list[tuple[str, str]] = [
            cedar.compile_firewall(r) for r in self.firewall.values()
        ] + [cedar.compile_pause(p) for p in self.pauses.values()]
        self._slices: dict[uuid.UUID | None, _Slice] = {}
        self._lock = threading.Lock()
        # Thresholds policies compare numbers with; a value's side of each is all that matters.
        self._ages = sorted(
            {k for p in self.pauses.values() for k in (p.age_over, p.age_under) if k is not None}
        )
        self._times = sorted(
            {
                int(t.timestamp())
                for p in self.pauses.values()
                for t in (p.starts_at, p.ends_at)
                if t is not None
            }
        )
        self._days = sorted(
            {
                d.toordinal()
                for a in self.agreements.values()
                for d in (a.start_date, a.end_date, a.review_date)
                if d is not None
            }
        )
        self._memo: dict[tuple[Any, ...], tuple[bool, tuple[str, ...], bool]] = {}
        #: Cedar evaluations made (requests told apart); for benchmarks and tests.
        self.cedar_calls = 0

    # policy text ---------------------------------------------------------------------
    def policies_for(self, org_id: uuid.UUID | None) -> list[tuple[str, str]]:
        """The slice's policies: the organisation's agreement permits, every forbid, the base."""
        permits: list[tuple[str, str]] = []
        for a in sorted(self._by_org.get(org_id, []) if org_id else [], key=lambda t: t.reference):
            mine = f'principal in Organisation::"{org_id}"'
            permits += [p for p in cedar.compile_agreement(a) if mine in p[1]]
        return permits + self.forbids + cedar.base_policies()

    def all_policies(self) -> list[tuple[str, str]]:
        permits: list[tuple[str, str]] = []
        for a in sorted(self.agreements.values(), key=lambda t: t.reference):
            permits += cedar.compile_agreement(a)
        return permits + self.forbids + cedar.base_policies()

    def slice(self, org_id: uuid.UUID | None) -> _Slice:
        found = self._slices.get(org_id)
        if found is None:
            with self._lock:
                found = self._slices.get(org_id)
                if found is None:
                    text = cedar.policy_text(self.policies_for(org_id))
                    found = _Slice(text, cedar.cedarpy().PolicySet.from_str(text))
                    self._slices[org_id] = found
        return found

    # deciding ------------------------------------------------------------------------
    def decide(self, request: DisclosureRequest, agreement: AgreementTerms | None) -> Decision:
        """One decision. ``agreement`` is the resolved agreement (None: there is none)."""
        return self.decide_many([(request, agreement)])[0]

    def decide_many(
        self,
        items: Sequence[tuple[DisclosureRequest, AgreementTerms | None]],
        org_types: Mapping[uuid.UUID, str] | None = None,
    ) -> list[Decision]:
        """Decisions for a batch: one Cedar batch call per organisation for what is not known.

        Requests that no policy can tell apart (same principal, action, agreement, purpose,
        items, method, parties, person facts — ages, times and dates compared only by which
        side of each policy threshold they fall) share one evaluation, within the batch and
        across calls on this engine. ``org_types`` (organisation id → type) gives each flow's
        discloser type; without it, the request's ``discloser_type`` is used.
        """
        out: list[Decision | None] = [None] * len(items)
        keys: dict[int, tuple[Any, ...]] = {}
        known: dict[tuple[Any, ...], tuple[bool, tuple[str, ...], bool]] = {}
        todo: dict[uuid.UUID | None, dict[tuple[Any, ...], int]] = {}
        flows: list[Flow] = []
        for i, (request, agreement) in enumerate(items):
            check_request(request)
            discloser, recipient = parties(request, agreement)
            if org_types is not None:
                kind = org_types.get(discloser, "") if discloser else ""
            else:
                kind = request.discloser_type
            flow = Flow(discloser, recipient, kind)
            flows.append(flow)
            early = self._gate(request, agreement, flow)
            if early is not None:
                out[i] = early
                continue
            key = self._class_key(request, agreement, flow)
            keys[i] = key
            shared = self._memo.get(key)
            if shared is not None:
                known[key] = shared
            else:
                todo.setdefault(request.principal.organisation_id, {}).setdefault(key, i)
        mod = cedar.cedarpy()
        for org, firsts in todo.items():
            handle = self.slice(org).handle
            built = [self._cedar_request(*items[i], flows[i]) for i in firsts.values()]
            self.cedar_calls += len(built)
            if len(built) == 1:
                results = [mod.is_authorized(built[0][0], handle, built[0][1])]
            else:
                entities: dict[tuple[str, str], dict[str, Any]] = {}
                for _, ents in built:
                    for e in ents:
                        entities[(e["uid"]["type"], e["uid"]["id"])] = e
                results = mod.is_authorized_batch(
                    [req for req, _ in built], handle, list(entities.values())
                )
            if len(self._memo) > _MEMO_MAX:
                self._memo.clear()
            for key, result in zip(firsts, results, strict=True):
                diag = result.diagnostics
                names = diag.id_annotations_by_reason
                known[key] = self._memo[key] = (
                    bool(result.allowed),
                    tuple(sorted({names.get(r, r) for r in diag.reasons}, key=_precedence)),
                    bool(diag.errors),
                )
        for i, key in keys.items():
            out[i] = self._explain(items[i][0], items[i][1], flows[i], *known[key])
        return [d for d in out if d is not None]

    def _class_key(
        self, request: DisclosureRequest, agreement: AgreementTerms | None, flow: Flow
    ) -> tuple[Any, ...]:
        at = _at(request)
        principal = request.principal
        return (
            flow,
            frozenset(request.offered_items),
            principal.organisation_id,
            principal.user_id,
            principal.has("caseworker"),
            request.action,
            agreement.id if agreement else None,
            request.purpose,
            frozenset(request.data_items),
            request.check_method or "",
            self.subject_key(principal, request.subject, at),
            _side(self._times, int(at.timestamp())),
            _side(self._days, at.date().toordinal()),
        )

    def subject_key(
        self, principal: Principal, subject: Subject | None, at: datetime
    ) -> tuple[Any, ...]:
        """What of the person a policy can tell apart, for ``principal`` acting at ``at``: the
        age only by its side of each pause's threshold, the categories, appeal state and locks,
        and whether they are the principal themselves (subject access). Subjects with equal
        keys get the same decision in otherwise equal requests."""
        found = subject or _NO_SUBJECT
        age = found.age_on(at.date())
        own = (
            principal.person_id is not None
            and subject is not None
            and str(principal.person_id) == subject.ref
        )
        return (
            own,
            None if age is None else _side(self._ages, age),
            frozenset(found.categories),
            found.appeal_state,
            frozenset(found.locks),
        )

    def _gate(
        self, request: DisclosureRequest, agreement: AgreementTerms | None, flow: Flow
    ) -> Decision | None:
        """Refusals decided before Cedar: they need a reason only Python can word."""
        if request.action == "subject_access":
            return None
        if agreement is None:
            return Decision(
                False,
                "no_agreement",
                f"Refused: no agreement in force lets this organisation receive data "
                f"for purpose '{request.purpose}'",
                discloser_id=flow.discloser,
                recipient_id=flow.recipient,
            )
        principal = request.principal
        if principal.agreement_scope is not None and agreement.id not in principal.agreement_scope:
            return Decision(
                False,
                "key_scope",
                f"Refused: this API key was not issued for agreement {agreement.reference}",
                agreement_id=agreement.id,
                discloser_id=flow.discloser,
                recipient_id=flow.recipient,
            )
        problem = agreement.state_problem(_at(request).date())
        if problem is not None:
            return Decision(
                False,
                "agreement_state",
                f"Refused: agreement {agreement.reference} {problem}",
                agreement_id=agreement.id,
                discloser_id=flow.discloser,
                recipient_id=flow.recipient,
            )
        return None

    def _cedar_request(
        self, request: DisclosureRequest, agreement: AgreementTerms | None, flow: Flow
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        at = _at(request)
        subject = request.subject or _NO_SUBJECT
        age = subject.age_on(at.date())
        principal = request.principal
        entities: list[dict[str, Any]] = []
        if principal.user_id is not None:
            p_uid = {"type": "User", "id": str(principal.user_id)}
            parents = (
                [{"type": "Organisation", "id": str(principal.organisation_id)}]
                if principal.organisation_id
                else []
            )
            entities.append({"uid": p_uid, "attrs": {}, "parents": parents})
        else:
            p_uid = {"type": "Organisation", "id": str(principal.organisation_id or "none")}
        r_uid = {"type": "Person", "id": subject.ref}
        entities.append(
            {
                "uid": r_uid,
                "attrs": {
                    "age": age if age is not None else 0,
                    "age_known": age is not None,
                    "categories": sorted(subject.categories),
                    "appeal_state": subject.appeal_state,
                    "locks": sorted(subject.locks),
                },
                "parents": [],
            }
        )
        own = (
            principal.person_id is not None
            and request.subject is not None
            and str(principal.person_id) == request.subject.ref
        )
        req = {
            "principal": p_uid,
            "action": {"type": "Action", "id": request.action},
            "resource": r_uid,
            "context": {
                "agreement": str(agreement.id) if agreement else "",
                "purpose": request.purpose,
                "data_items": sorted(set(request.data_items)),
                "offered_items": sorted(set(request.data_items) | set(request.offered_items)),
                "discloser": str(flow.discloser) if flow.discloser else "",
                "recipient": str(flow.recipient) if flow.recipient else "",
                "discloser_type": flow.discloser_type,
                "time": int(at.timestamp()),
                "day": at.date().toordinal(),
                "check_method": request.check_method or "",
                "own_record": own,
                "staff": principal.has("caseworker"),
            },
        }
        return req, entities

    def _explain(
        self,
        request: DisclosureRequest,
        agreement: AgreementTerms | None,
        flow: Flow,
        allowed: bool,
        policies: tuple[str, ...],
        errored: bool,
    ) -> Decision:
        d = self._explain_flow(request, agreement, flow, allowed, policies, errored)
        return Decision(
            d.allowed, d.kind, d.reason, d.policies, d.agreement_id, flow.discloser, flow.recipient
        )

    def _explain_flow(
        self,
        request: DisclosureRequest,
        agreement: AgreementTerms | None,
        flow: Flow,
        allowed: bool,
        policies: tuple[str, ...],
        errored: bool,
    ) -> Decision:
        agreement_id = agreement.id if agreement else None
        if errored:
            # A policy that fails to evaluate is skipped by Cedar; refuse rather than guess.
            return Decision(
                False,
                "no_agreement",
                "Refused: a policy could not be evaluated",
                policies,
                agreement_id,
            )
        if allowed:
            if request.action == "subject_access":
                reason = "Permitted: the person's own data (subject access)"
            else:
                assert agreement is not None
                reason = (
                    f"Permitted under agreement {agreement.reference} "
                    f"for purpose '{request.purpose}'"
                )
            return Decision(True, "permit", reason, policies, agreement_id)
        forbids = [p for p in policies if not p.startswith("agreement:")]
        if forbids:
            kind, reason = self._forbid_reason(forbids[0])
            return Decision(False, kind, reason, tuple(forbids), agreement_id)
        return Decision(
            False,
            "no_agreement",
            self._no_permit_reason(request, agreement, flow),
            (),
            agreement_id,
        )

    def _forbid_reason(self, policy_id: str) -> tuple[str, str]:
        prefix, _, key = policy_id.partition(":")
        if prefix == "firewall" and key in self.firewall:
            return "firewall", f"Refused: firewall rule '{self.firewall[key].title}'"
        if prefix == "pause":
            pause = self.pauses.get(uuid.UUID(key))
            if pause is not None:
                return "pause", f"Refused: pause '{pause.title}' ({pause.reason})"
        if policy_id == cedar.LOCK_POLICY_ID:
            return "lock", (
                "Refused: the person has locked attribute checks; only share-code checks "
                "they start, or checks the law requires, can be made"
            )
        return prefix or "firewall", f"Refused: policy {policy_id}"

    def _no_permit_reason(
        self, request: DisclosureRequest, agreement: AgreementTerms | None, flow: Flow
    ) -> str:
        if request.action == "subject_access":
            return "Refused: only the person, or a caseworker for them, may see this data"
        if agreement is None:
            return f"Refused: no agreement covers purpose '{request.purpose}'"
        ref = agreement.reference
        org = request.principal.organisation_id
        discloser, recipient = flow.discloser, flow.recipient
        if request.action in cedar.DISCLOSING_ACTIONS:
            if org not in agreement.disclosers:
                if org in agreement.recipients:
                    return (
                        f"Refused: agreement {ref} runs the other way: this organisation "
                        "receives data under it and does not send it"
                    )
                return f"Refused: this organisation is not a discloser under agreement {ref}"
            if discloser != org:
                return "Refused: an organisation may only send its own data"
            if recipient not in agreement.recipients:
                return f"Refused: that organisation is not a recipient under agreement {ref}"
        else:
            if org not in agreement.recipients:
                if org in agreement.disclosers:
                    return (
                        f"Refused: agreement {ref} runs the other way: this organisation "
                        "discloses data under it and does not receive it"
                    )
                return f"Refused: this organisation is not a recipient under agreement {ref}"
            if recipient != org:
                return "Refused: an organisation may only receive data for itself"
            if agreement.disclosers and discloser not in agreement.disclosers:
                return f"Refused: that organisation is not a discloser under agreement {ref}"
        if request.purpose not in agreement.purposes:
            return f"Refused: agreement {ref} does not cover purpose '{request.purpose}'"
        allowed = (
            agreement.discloser_actions
            if request.action in cedar.DISCLOSING_ACTIONS
            else agreement.actions
        )
        if request.action not in allowed:
            return f"Refused: agreement {ref} does not allow {request.action.replace('_', ' ')}"
        outside = sorted(set(request.data_items) - set(agreement.data_items))
        if outside:
            return f"Refused: agreement {ref} does not include data items {', '.join(outside)}"
        return f"Refused: agreement {ref} does not permit this request"


class Flow(NamedTuple):
    """Which way one request's data would flow: its parties and the discloser's type."""

    discloser: uuid.UUID | None
    recipient: uuid.UUID | None
    discloser_type: str


def parties(
    request: DisclosureRequest, agreement: AgreementTerms | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(discloser, recipient) of a flow: named on the request, else from the agreement's parties.

    For receiving actions the principal's organisation is the recipient; for disclosing
    actions (answer, submit) it is the discloser. Subject access names no organisation.
    """
    org = request.principal.organisation_id
    if request.action == "subject_access":
        return request.discloser_id, request.recipient_id
    if request.action in cedar.DISCLOSING_ACTIONS:
        first = agreement.recipients[0] if agreement and agreement.recipients else None
        return request.discloser_id or org, request.recipient_id or first
    first = agreement.disclosers[0] if agreement and agreement.disclosers else None
    return request.discloser_id or first, request.recipient_id or org


def _at(request: DisclosureRequest) -> datetime:
    # ``utcnow``, not the wall clock: a replayed history (``storage.base.replay_clock``)
    # is decided as of the moment it replays.
    return request.at or utcnow()

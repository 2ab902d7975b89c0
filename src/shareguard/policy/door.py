"""The one door: decide → minimise → audit.append → Disclosure row, in the caller's transaction.

``decide`` reads only. ``disclose`` and ``disclose_many`` flush the audit entry and the
disclosure row into the caller's transaction and never commit: the caller's commit makes the
answer, its record and its audit entry durable together, and a rollback removes all three.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from shareguard import telemetry
from shareguard.accounts.models import Organisation
from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.models import Agreement, AgreementParty, AgreementState
from shareguard.audit import AuditRecord, append_many, payload_hash
from shareguard.errors import InvalidInput
from shareguard.policy.cedar import DISCLOSING_ACTIONS, AgreementTerms, FirewallTerms, PauseTerms
from shareguard.policy.defaults import DEFAULT_FIREWALL
from shareguard.policy.engine import Engine, check_request, parties
from shareguard.policy.models import (
    Disclosure,
    DisclosureCount,
    FirewallRule,
    Pause,
    PolicyGeneration,
)
from shareguard.policy.types import Decision, Disclosed, DisclosureRequest, Subject
from shareguard.storage.base import new_id, utcnow

log = logging.getLogger("shareguard.policy")

DISCLOSURE_KINDS = (
    "check_answer",
    "match_result",
    "export",
    "credential",
    # The door's other way (shareguard.exchange): a permitted request to a partner, the
    # partner's answer to it, and a record a partner sends unasked.
    "request",
    "answer",
    "inbound",
)
#: Kinds whose data flows into the operator: extra fields are dropped and named in the audit.
INBOUND_KINDS = ("answer", "inbound")
_GENERATION_ID = 1


# -- the compiled-policy cache ------------------------------------------------------------
@dataclass
class _Snapshot:
    """What one policy generation decides with: the compiled engine and agreement terms.

    Every change to an agreement, firewall rule or pause bumps the generation in its own
    transaction, so terms cached under a generation are the terms of that generation.
    """

    engine: Engine
    by_id: dict[uuid.UUID, AgreementTerms | None] = field(default_factory=dict)
    #: An organisation's agreements as recipient, by reference.
    by_org: dict[uuid.UUID, tuple[AgreementTerms, ...]] = field(default_factory=dict)
    #: Organisation types (they never change once created), read as needed.
    org_types: dict[uuid.UUID, str] = field(default_factory=dict)


_cache: dict[str, _Snapshot] = {}
_cache_lock = threading.Lock()


def bump(session: Session) -> str:
    """Mark the register changed (in the caller's transaction): every cache rebuilds."""
    token = str(uuid.uuid4())
    done = session.execute(
        update(PolicyGeneration)
        .where(PolicyGeneration.id == _GENERATION_ID)
        .values(token=token, changed_at=utcnow())
    )
    if not getattr(done, "rowcount", 0):
        session.execute(
            insert(PolicyGeneration).values(id=_GENERATION_ID, token=token, changed_at=utcnow())
        )
    return token


_GENERATION = select(PolicyGeneration.token).where(PolicyGeneration.id == _GENERATION_ID)


def generation(session: Session) -> str | None:
    # The connection, not the session: a plain read of one column needs no ORM result.
    return session.connection().execute(_GENERATION).scalar()


@dataclass
class PolicyReading:
    """One unit of work's view of the policy: its generation's snapshot, read once, and the
    daily counts already read in this transaction.

    A check decides twice (the upfront gate, then the disclosure with its subject); passing
    the reading from the first to the second saves reading the generation and the counts
    again. The generation is still read from the database once per unit of work, so a
    pause or any agreement change takes effect for every check that starts after it commits.
    Use a reading for one transaction only.
    """

    snap: _Snapshot
    #: (agreement, UTC day) → that day's disclosures, as read, plus this transaction's own.
    counts: dict[tuple[uuid.UUID, date], int] = field(default_factory=dict)


def read_policy(session: Session) -> PolicyReading:
    """The policy as of now (one query when the generation has not changed)."""
    return PolicyReading(_snapshot(session))


def load_engine(session: Session) -> Engine:
    """The compiled register for this session's database, rebuilt when its generation changes."""
    return _snapshot(session).engine


def _snapshot(session: Session) -> _Snapshot:
    """This generation's snapshot (one query when nothing changed); uncached with no generation."""
    token = generation(session)
    if token is not None:
        found = _cache.get(token)
        if found is not None:
            return found
    snap = _Snapshot(build_engine(session))
    if token is not None:
        with _cache_lock:
            _cache.clear()  # one generation at a time per process is all anyone needs
            _cache[token] = snap
    return snap


def build_engine(session: Session) -> Engine:
    agreements = session.scalars(
        select(Agreement).where(
            Agreement.state == AgreementState.ACTIVE, Agreement.signed_off_by.is_not(None)
        )
    )
    return Engine(
        [AgreementTerms.of(a) for a in agreements],
        firewall_terms(session),
        [pause_terms(p) for p in session.scalars(select(Pause))],
    )


def firewall_terms(session: Session) -> list[FirewallTerms]:
    """Active firewall rules; the shipped defaults until the register holds any rule at all."""
    rows = list(session.scalars(select(FirewallRule).order_by(FirewallRule.key)))
    if not rows:
        return list(DEFAULT_FIREWALL)
    return [
        FirewallTerms(
            key=r.key,
            title=r.title,
            categories=tuple(r.categories),
            data_items=tuple(r.data_items),
            purposes=tuple(r.purposes),
            actions=tuple(r.actions),
            id=r.id,
            sources=tuple(r.sources or ()),
        )
        for r in rows
        if r.active
    ]


def pause_terms(p: Pause) -> PauseTerms:
    return PauseTerms(
        id=p.id,
        title=p.title,
        reason=p.reason,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        agreement_ids=tuple(uuid.UUID(a) for a in p.agreement_ids),
        purposes=tuple(p.purposes),
        actions=tuple(p.actions),
        age_over=p.age_over,
        age_under=p.age_under,
    )


# -- resolving the agreement ----------------------------------------------------------------
def _candidates(session: Session, org_id: uuid.UUID | None, purpose: str) -> list[Agreement]:
    if org_id is None:
        return []
    stmt = (
        select(Agreement)
        .join(AgreementParty)
        .where(AgreementParty.organisation_id == org_id, AgreementParty.role == "recipient")
        .order_by(Agreement.reference)
    )
    return [a for a in session.scalars(stmt).unique() if purpose in a.purposes]


def agreement_for(
    session: Session, principal: Principal, purpose: str, *, on: datetime | None = None
) -> Agreement | None:
    """The in-force agreement the principal's organisation may act under for ``purpose``.

    Respects an API key's agreement scope. None when there is none (the caller's decision
    then explains why: no agreement, outside the key's scope, or not in force).
    """
    day = (on or utcnow()).date()
    for a in _candidates(session, principal.organisation_id, purpose):
        if a.in_force(day) and principal.may_act_under(a.id):
            return a
    return None


def _terms(session: Session, snap: _Snapshot, agreement_id: uuid.UUID) -> AgreementTerms | None:
    """An agreement's terms, from the generation's snapshot (loaded once per generation)."""
    if agreement_id not in snap.by_id:
        agreement = session.get(Agreement, agreement_id)
        snap.by_id[agreement_id] = AgreementTerms.of(agreement) if agreement is not None else None
    return snap.by_id[agreement_id]


def _org_terms(
    session: Session, snap: _Snapshot, org_id: uuid.UUID | None
) -> tuple[AgreementTerms, ...]:
    """The organisation's agreements as recipient (by reference), once per generation."""
    if org_id is None:
        return ()
    found = snap.by_org.get(org_id)
    if found is None:
        stmt = (
            select(Agreement)
            .join(AgreementParty)
            .where(AgreementParty.organisation_id == org_id, AgreementParty.role == "recipient")
            .order_by(Agreement.reference)
        )
        found = tuple(AgreementTerms.of(a) for a in session.scalars(stmt).unique())
        snap.by_org[org_id] = found
        for t in found:
            snap.by_id.setdefault(t.id, t)
    return found


def _org_type(session: Session, snap: _Snapshot, org_id: uuid.UUID | None) -> str:
    if org_id is None:
        return ""
    found = snap.org_types.get(org_id)
    if found is None:
        found = session.scalar(select(Organisation.type).where(Organisation.id == org_id)) or ""
        snap.org_types[org_id] = found
    return found


def _resolve(
    session: Session, request: DisclosureRequest, snap: _Snapshot
) -> AgreementTerms | None:
    """The agreement to decide under: the named one, else the best one to act or explain with."""
    if request.action == "subject_access":
        return None
    if request.agreement_id is not None:
        return _terms(session, snap, request.agreement_id)
    if request.action in DISCLOSING_ACTIONS:
        return None  # sending data always names its agreement
    principal = request.principal
    day = (request.at or utcnow()).date()
    candidates = [
        t
        for t in _org_terms(session, snap, principal.organisation_id)
        if request.purpose in t.purposes
    ]
    in_scope = [a for a in candidates if principal.may_act_under(a.id)]
    for a in in_scope:
        if a.state_problem(day) is None:  # in force
            return a
    # Nothing in force: decide under the closest one so the refusal says why.
    if in_scope:
        return in_scope[0]
    return candidates[0] if candidates else None


# -- deciding -------------------------------------------------------------------------------
def decide(
    session: Session, request: DisclosureRequest, *, reading: PolicyReading | None = None
) -> Decision:
    """Decide one request without disclosing anything (reads only; audits nothing).

    ``reading`` (from ``read_policy``, in this transaction) saves reading the policy again.
    Raises InvalidInput for a request that names an unknown action, purpose or data item.
    """
    return _decide_with(session, reading or read_policy(session), [request], per_run=False)[0]


def decide_many(
    session: Session,
    requests: Sequence[DisclosureRequest],
    *,
    reading: PolicyReading | None = None,
) -> list[Decision]:
    """``decide`` for many requests at once (reads only; audits nothing).

    Each request is decided as ``decide`` would decide it alone: volume limits see the
    stored counts, not the other requests of the batch (nothing is disclosed here). One
    Cedar batch call for the requests no policy can tell apart.
    """
    if not requests:
        return []
    return _decide_with(
        session, reading or read_policy(session), requests, per_run=False, cumulative=False
    )


def decide_subjects(
    session: Session,
    request: DisclosureRequest,
    subjects: Sequence[Subject],
    *,
    reading: PolicyReading | None = None,
) -> list[Decision]:
    """``decide_many`` for one request made about each of many people (``request.subject``
    is replaced by each of ``subjects``), all at one moment: ``request.at``, else now.

    People no policy can tell apart (``Engine.subject_key``: age by its side of each pause's
    threshold, categories, appeal state, locks) share one decision, so a watch list of a
    hundred thousand people costs a decision per kind of person, not per person. Reads only;
    audits nothing; volume limits see the stored counts only, as in ``decide_many``.
    """
    if not subjects:
        return []
    started = time.perf_counter()
    reading = reading or read_policy(session)
    at = request.at or utcnow()
    engine = reading.snap.engine
    firsts: dict[tuple[Any, ...], int] = {}
    which = [
        firsts.setdefault(engine.subject_key(request.principal, s, at), i)
        for i, s in enumerate(subjects)
    ]
    order = {i: k for k, i in enumerate(firsts.values())}
    decided = _decide_with(
        session,
        reading,
        [replace(request, subject=subjects[i], at=at) for i in firsts.values()],
        per_run=False,
        cumulative=False,
        observe=False,
    )
    # Observed per person, as decide_many would, at the call's average.
    each = (time.perf_counter() - started) / len(subjects)
    for _ in subjects:
        telemetry.observe("decision_seconds", each, action=request.action)
    return [decided[order[i]] for i in which]


def _decide_with(
    session: Session,
    reading: PolicyReading,
    requests: Sequence[DisclosureRequest],
    *,
    per_run: bool,
    cumulative: bool = True,
    observe: bool = True,
) -> list[Decision]:
    started = time.perf_counter()
    for r in requests:
        check_request(r)
    snap = reading.snap
    resolved = []
    for r in requests:
        terms = _resolve(session, r, snap)
        _org_type(session, snap, parties(r, terms)[0])  # the engine reads snap.org_types
        resolved.append((r, terms))
    decisions = snap.engine.decide_many(resolved, snap.org_types)
    out = _apply_limits(
        session, resolved, decisions, per_run=per_run, counts=reading.counts, cumulative=cumulative
    )
    if observe:
        # A batch's decisions share its time: each is counted at the batch's average.
        each = (time.perf_counter() - started) / len(requests)
        for r in requests:
            telemetry.observe("decision_seconds", each, action=r.action)
    return out


def _apply_limits(
    session: Session,
    resolved: Sequence[tuple[DisclosureRequest, AgreementTerms | None]],
    decisions: list[Decision],
    *,
    per_run: bool,
    counts: dict[tuple[uuid.UUID, date], int],
    cumulative: bool = True,
) -> list[Decision]:
    """Refuse what exceeds an agreement's records per day (and per run, for a batch).

    ``counts`` memoises each (agreement, day) count read in this transaction. ``cumulative``
    False: each request is measured against the stored counts alone (deciding, not sending).
    """
    used_today: dict[uuid.UUID, int] = {}
    used_run: dict[uuid.UUID, int] = {}
    out = []
    for (request, terms), decision in zip(resolved, decisions, strict=True):
        # An answer rides on its request, which was counted (and limited) when it was made.
        if not decision.allowed or terms is None or request.action in ("subject_access", "answer"):
            out.append(decision)
            continue
        if terms.id not in used_today:
            used_today[terms.id] = (
                _count_today(session, terms.id, request.at, counts) if terms.limit_per_day else 0
            )
        if terms.limit_per_day is not None and used_today[terms.id] >= terms.limit_per_day:
            out.append(
                Decision(
                    False,
                    "limit",
                    f"Refused: agreement {terms.reference} allows {terms.limit_per_day} "
                    "records a day, and today's are used",
                    (f"limit:{terms.id}:per_day",),
                    terms.id,
                )
            )
            continue
        if (
            per_run
            and terms.limit_per_run is not None
            and used_run.get(terms.id, 0) >= terms.limit_per_run
        ):
            out.append(
                Decision(
                    False,
                    "limit",
                    f"Refused: agreement {terms.reference} allows {terms.limit_per_run} "
                    "records a run, and this run's are used",
                    (f"limit:{terms.id}:per_run",),
                    terms.id,
                )
            )
            continue
        if cumulative:
            used_today[terms.id] += 1
            used_run[terms.id] = used_run.get(terms.id, 0) + 1
        out.append(decision)
    return out


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date() if at.tzinfo else at.date()


#: Rows each agreement's daily count is spread over (see ``DisclosureCount``).
COUNT_SLOTS = 16
_COUNT_TODAY = select(func.sum(DisclosureCount.count)).where(
    DisclosureCount.agreement_id == bindparam("agreement_id"),
    DisclosureCount.day == bindparam("day"),
)


def _count_today(
    session: Session,
    agreement_id: uuid.UUID,
    at: datetime | None,
    counts: dict[tuple[uuid.UUID, date], int],
) -> int:
    """Disclosures under the agreement on ``at``'s UTC day: a few rows, however many there were."""
    key = (agreement_id, _day(at or utcnow()))
    if key not in counts:
        params = {"agreement_id": key[0], "day": key[1]}
        got = session.connection().execute(_COUNT_TODAY, params).scalar()
        counts[key] = int(got or 0)
    return counts[key]


def _count_up(
    session: Session,
    rows: Sequence[Mapping[str, Any]],
    memo: dict[tuple[uuid.UUID, date], int] | None = None,
) -> None:
    """Add the disclosure rows to their agreement's daily counts (in the caller's transaction).

    ``memo`` (a reading's counts) is kept in step, so a later decision in the same
    transaction sees these disclosures without reading the row again.
    """
    counts: dict[tuple[uuid.UUID, date], int] = {}
    for r in rows:
        if r["agreement_id"] is not None and r["action"] != "answer":
            key = (r["agreement_id"], _day(r["at"]))
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return
    stmt = _count_up_statement(session.get_bind().dialect.name)
    for (agreement_id, day), n in sorted(counts.items()):
        if memo is not None and (agreement_id, day) in memo:
            memo[(agreement_id, day)] += n
        slot = random.randrange(COUNT_SLOTS)
        session.connection().execute(
            stmt, {"agreement_id": agreement_id, "day": day, "slot": slot, "n": n, "add": n}
        )


_COUNT_UP: dict[str, Any] = {}


def _count_up_statement(dialect: str) -> Any:
    """The upsert adding to a daily count, built once per dialect (values are bound)."""
    stmt = _COUNT_UP.get(dialect)
    if stmt is None:
        upsert: Any
        # Each dialect has its own INSERT .. ON CONFLICT; only the one in use is imported.
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        table: Any = DisclosureCount.__table__
        stmt = (
            upsert(table)
            .values(
                agreement_id=bindparam("agreement_id"),
                day=bindparam("day"),
                slot=bindparam("slot"),
                count=bindparam("n"),
            )
            .on_conflict_do_update(
                index_elements=["agreement_id", "day", "slot"],
                set_={"count": table.c.count + bindparam("add")},
            )
        )
        _COUNT_UP[dialect] = stmt
    return stmt


# -- minimising -----------------------------------------------------------------------------
def minimise(answer: Mapping[str, Any], purpose: str, agreement: Any) -> dict[str, Any]:
    """Cut ``answer`` to the agreement's data items ∩ the purpose's answer shape.

    ``agreement`` is an Agreement, AgreementTerms, or None (subject access: the purpose's
    shape alone). Keys that are not data items never survive; an unknown purpose yields {}.
    """
    shape = PURPOSES.get(purpose)
    if shape is None:
        return {}
    allowed = set(shape.answer_shape)
    if agreement is not None:
        allowed &= set(agreement.data_items)
    return {k: v for k, v in answer.items() if k in allowed}


# -- disclosing -----------------------------------------------------------------------------
def disclose(
    session: Session,
    request: DisclosureRequest,
    answer: Mapping[str, Any],
    *,
    kind: str,
    record_refs: Sequence[str] = (),
    reading: PolicyReading | None = None,
) -> Disclosed:
    """Decide, minimise, audit and record one disclosure, flushed in the caller's transaction.

    A refusal is audited too and returns ``answer=None``. The caller commits. ``reading``
    (from ``read_policy``, in this transaction) saves reading the policy again.
    """
    return disclose_many(
        session, [(request, answer, record_refs)], kind=kind, run=False, reading=reading
    )[0]


def disclose_many(
    session: Session,
    items: Sequence[tuple[DisclosureRequest, Mapping[str, Any], Sequence[str]]],
    *,
    kind: str,
    run: bool = True,
    reading: PolicyReading | None = None,
) -> list[Disclosed]:
    """``disclose`` for a batch (one run): one Cedar batch call, one audit group commit.

    Per-run volume limits apply across the batch; the excess is refused and audited.
    """
    if kind not in DISCLOSURE_KINDS:
        raise InvalidInput(
            f"unknown disclosure kind; use one of {', '.join(DISCLOSURE_KINDS)}", field="kind"
        )
    if not items:
        return []
    requests = [_effective(req, answer) for req, answer, _ in items]
    reading = reading or read_policy(session)
    snap = reading.snap
    decisions = _decide_with(session, reading, requests, per_run=run)
    terms_by_id = {
        t.id: t
        for t in (
            _terms(session, snap, d.agreement_id) for d in decisions if d.allowed and d.agreement_id
        )
        if t is not None
    }
    records: list[AuditRecord] = []
    answers: list[dict[str, Any] | None] = []
    ids: list[uuid.UUID | None] = []
    for request, (_, answer, refs), decision in zip(requests, items, decisions, strict=True):
        principal = request.principal
        base = {
            "action": request.action,
            "kind": decision.kind,
            "disclosure_kind": kind,
            "data_items": list(request.data_items),
            "policies": list(decision.policies),
        }
        if decision.discloser_id is not None:
            base["discloser"] = str(decision.discloser_id)
        if decision.recipient_id is not None:
            base["recipient"] = str(decision.recipient_id)
        if request.check_method:
            base["check_method"] = request.check_method
        if principal.api_key_id is not None:
            base["api_key_id"] = str(principal.api_key_id)
        if principal.client_key_id is not None:
            base["client_key_id"] = str(principal.client_key_id)
        subject_ref = request.subject.ref if request.subject and request.subject.ref else None
        if decision.allowed:
            terms = terms_by_id.get(decision.agreement_id) if decision.agreement_id else None
            out = minimise(answer, request.purpose, terms)
            if request.data_items:
                out = {k: v for k, v in out.items() if k in set(request.data_items)}
            if kind in INBOUND_KINDS:
                dropped = dropped_fields(answer, out)
                if dropped:
                    base["dropped"] = dropped
            disclosure_id = new_id()
            telemetry.count(
                "disclosures", agreement=terms.reference if terms else "none", kind=kind
            )
            answers.append(out)
            ids.append(disclosure_id)
            records.append(
                AuditRecord(
                    action=f"disclosure.{kind}",
                    actor_org_id=principal.organisation_id,
                    actor_user_id=principal.user_id,
                    agreement_id=decision.agreement_id,
                    purpose=request.purpose,
                    subject_ref=subject_ref,
                    decision="permit",
                    reasons=(decision.reason,),
                    payload_hash=payload_hash(out),
                    details={
                        **base,
                        "disclosure_id": str(disclosure_id),
                        "record_refs": [str(r) for r in refs],
                    },
                )
            )
        else:
            telemetry.count("refusals", kind=decision.kind, action=request.action)
            answers.append(None)
            ids.append(None)
            records.append(
                AuditRecord(
                    action="policy.deny",
                    actor_org_id=principal.organisation_id,
                    actor_user_id=principal.user_id,
                    agreement_id=decision.agreement_id,
                    purpose=request.purpose,
                    subject_ref=subject_ref,
                    decision="deny",
                    reasons=(decision.reason,),
                    details=base,
                )
            )
    entries = append_many(session, records)
    entry_ids = entries.ids
    rows = []
    now = utcnow()
    for request, (_, _, refs), decision, out, disclosure_id, entry_id, record in zip(
        requests, items, decisions, answers, ids, entry_ids, records, strict=True
    ):
        if disclosure_id is None:
            continue
        at = request.at or now
        rows.append(
            {
                "id": disclosure_id,
                "at": at,
                "day": _day(at),
                "kind": kind,
                "action": request.action,
                "agreement_id": decision.agreement_id,
                "purpose": request.purpose,
                "discloser_org_id": decision.discloser_id,
                "recipient_org_id": decision.recipient_id,
                "subject_ref": record.subject_ref,
                # A request carries no data items yet: it records the ones asked for.
                "data_items": sorted(request.data_items)
                if kind == "request"
                else sorted(out or {}),
                "payload_hash": record.payload_hash,
                "audit_entry_id": entry_id,
                "record_refs": [str(r) for r in refs],
            }
        )
    if rows:
        # Core, not the ORM's bulk path: nothing here needs objects back.
        session.connection().execute(_INSERT_DISCLOSURE, rows)
        _count_up(session, rows, reading.counts)
    return [
        Disclosed(decision=d, answer=a, disclosure_id=i, audit_entry_id=e)
        for d, a, i, e in zip(decisions, answers, ids, entry_ids, strict=True)
    ]


_INSERT_DISCLOSURE = insert(Disclosure.__table__)  # type: ignore[arg-type]


def _effective(request: DisclosureRequest, answer: Mapping[str, Any]) -> DisclosureRequest:
    """A request that names no data items is decided on the data items the answer carries."""
    if request.data_items:
        return request
    return replace(request, data_items=tuple(sorted(k for k in answer if k in DATA_ITEMS)))


#: At most this many dropped field names are kept in an audit entry, each cut to 60 characters.
_DROPPED_MAX = 50


def dropped_fields(sent: Mapping[str, Any], kept: Mapping[str, Any]) -> list[str]:
    """Names of the fields a sender carried that minimising dropped (names only, never values)."""
    names = sorted(str(k)[:60] for k in sent if k not in kept)
    return names[:_DROPPED_MAX]


__all__ = [
    "DISCLOSURE_KINDS",
    "INBOUND_KINDS",
    "agreement_for",
    "bump",
    "decide",
    "decide_many",
    "disclose",
    "disclose_many",
    "dropped_fields",
    "load_engine",
    "minimise",
    "read_policy",
]

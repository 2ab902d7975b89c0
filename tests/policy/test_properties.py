"""Property tests: forbid always wins, non-in-force agreements permit nothing, one audit entry
per disclose, and minimise never lets a field out that the agreement does not cover."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.audit.models import AuditEntry
from shareguard.policy import DisclosureRequest, Subject, disclose, minimise
from shareguard.policy.cedar import AgreementTerms, FirewallTerms, PauseTerms
from shareguard.policy.engine import Engine
from tests.factories import TestWorld

ORGS = [uuid.UUID(int=i) for i in range(1, 4)]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
PURPOSE_CODES = sorted(PURPOSES)
ITEMS = sorted(DATA_ITEMS)
ACTIONS = ["check", "bulk_disclosure", "export"]
CATEGORIES = ["pupil", "patient", "victim", "witness"]

dates = st.one_of(st.none(), st.integers(-400, 400).map(lambda d: TODAY + timedelta(days=d)))


@st.composite
def agreements(draw: st.DrawFn) -> AgreementTerms:
    purposes = draw(st.lists(st.sampled_from(PURPOSE_CODES), min_size=1, max_size=2, unique=True))
    shape = sorted({i for p in purposes for i in PURPOSES[p].answer_shape})
    return AgreementTerms(
        id=uuid.UUID(int=draw(st.integers(100, 10**9))),
        reference=f"P-{draw(st.integers(0, 10**6))}",
        title="property agreement",
        state=draw(st.sampled_from(["draft", "active", "active", "active", "paused", "ended"])),
        signed_off=draw(st.booleans()) or draw(st.booleans()),
        recipients=tuple(
            draw(st.lists(st.sampled_from(ORGS), min_size=1, max_size=2, unique=True))
        ),
        purposes=tuple(purposes),
        data_items=tuple(draw(st.lists(st.sampled_from(shape), min_size=1, unique=True))),
        bulk=draw(st.booleans()),
        start_date=draw(dates),
        end_date=draw(dates),
        review_date=draw(dates),
    )


firewall_rules = st.builds(
    FirewallTerms,
    key=st.text("abcdefgh", min_size=3, max_size=8),
    title=st.just("property rule"),
    categories=st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True).map(tuple),
    data_items=st.lists(st.sampled_from(ITEMS), max_size=3, unique=True).map(tuple),
    purposes=st.lists(st.sampled_from(PURPOSE_CODES), max_size=2, unique=True).map(tuple),
    actions=st.lists(st.sampled_from(ACTIONS), max_size=2, unique=True).map(tuple),
)


@st.composite
def pauses(draw: st.DrawFn, agreement_ids: list[uuid.UUID]) -> PauseTerms:
    start = NOW + timedelta(hours=draw(st.integers(-48, 48)))
    length = draw(st.one_of(st.none(), st.integers(1, 96)))
    return PauseTerms(
        id=uuid.UUID(int=draw(st.integers(10**10, 10**11))),
        title="property pause",
        reason="test",
        starts_at=start,
        ends_at=None if length is None else start + timedelta(hours=length),
        agreement_ids=tuple(draw(st.lists(st.sampled_from(agreement_ids), max_size=2, unique=True)))
        if agreement_ids
        else (),
        purposes=tuple(draw(st.lists(st.sampled_from(PURPOSE_CODES), max_size=2, unique=True))),
        actions=tuple(draw(st.lists(st.sampled_from(ACTIONS), max_size=2, unique=True))),
        age_over=draw(st.one_of(st.none(), st.integers(10, 60))),
        age_under=None,
    )


subjects = st.builds(
    Subject,
    ref=st.just("subject"),
    date_of_birth=st.one_of(st.none(), st.dates(date(1940, 1, 1), date(2020, 1, 1))),
    categories=st.frozensets(st.sampled_from(CATEGORIES), max_size=2),
    locks=st.frozensets(st.just("attribute_checks")),
)


def firewall_matches(rule: FirewallTerms, req: DisclosureRequest, subject: Subject) -> bool:
    if rule.actions and req.action not in rule.actions:
        return False
    if req.purpose not in rule.guarded_purposes():
        return False
    if not rule.categories and not rule.data_items:
        return True
    return bool(set(rule.categories) & subject.categories) or bool(
        set(rule.data_items) & set(req.data_items)
    )


def pause_matches(
    p: PauseTerms, req: DisclosureRequest, agreement: AgreementTerms | None, subject: Subject
) -> bool:
    at = req.at or NOW
    if at < p.starts_at or (p.ends_at is not None and at >= p.ends_at):
        return False
    if p.agreement_ids and (agreement is None or agreement.id not in p.agreement_ids):
        return False
    if p.purposes and req.purpose not in p.purposes:
        return False
    if p.actions and req.action not in p.actions:
        return False
    if p.age_over is not None:
        age = subject.age_on(at.date())
        if age is not None and age <= p.age_over:
            return False
    return True


@st.composite
def worlds(draw: st.DrawFn):
    ags = draw(st.lists(agreements(), min_size=1, max_size=6, unique_by=lambda a: a.id))
    rules = draw(st.lists(firewall_rules, max_size=3, unique_by=lambda r: r.key))
    ps = draw(st.lists(pauses([a.id for a in ags]), max_size=3, unique_by=lambda p: p.id))
    return ags, rules, ps


@st.composite
def requests(draw: st.DrawFn, ags: list[AgreementTerms]):
    agreement = draw(st.sampled_from(ags))
    purpose = draw(st.sampled_from([*agreement.purposes, *PURPOSE_CODES]))
    items = draw(
        st.lists(st.sampled_from([*agreement.data_items, *ITEMS]), max_size=4, unique=True)
    )
    subject = draw(subjects)
    req = DisclosureRequest(
        principal=Principal(organisation_id=draw(st.sampled_from(ORGS))),
        action=draw(st.sampled_from(ACTIONS)),
        agreement_id=agreement.id,
        purpose=purpose,
        data_items=tuple(items),
        subject=subject,
        check_method=draw(st.sampled_from([None, "share_code", "attributes"])),
        at=NOW + timedelta(hours=draw(st.integers(-72, 72))),
    )
    return req, agreement


@settings(max_examples=60, deadline=None)
@given(data=st.data(), world=worlds())
def test_forbid_always_wins_and_nothing_out_of_force_permits(data, world) -> None:
    ags, rules, ps = world
    engine = Engine(ags, rules, ps)
    for _ in range(8):
        req, agreement = data.draw(requests(ags))
        decision = engine.decide(req, agreement)
        # Decisions shared between indistinguishable requests equal a fresh evaluation.
        assert Engine(ags, rules, ps).decide(req, agreement) == decision
        subject = req.subject
        assert subject is not None
        forbidden = (
            any(firewall_matches(r, req, subject) for r in rules)
            or any(pause_matches(p, req, agreement, subject) for p in ps)
            or (
                req.action == "check"
                and req.check_method == "attributes"
                and "attribute_checks" in subject.locks
                and not PURPOSES[req.purpose].statutory
            )
        )
        if forbidden:
            assert not decision.allowed, (decision, req)
        if agreement.state_problem((req.at or NOW).date()) is not None:
            assert not decision.allowed
        if decision.allowed:
            assert req.principal.organisation_id in agreement.recipients
            assert req.purpose in agreement.purposes
            assert set(req.data_items) <= set(agreement.data_items)
            assert agreement.state == "active" and agreement.signed_off


@settings(max_examples=200, deadline=None)
@given(
    answer=st.dictionaries(st.sampled_from([*ITEMS, "outcome", "secret", "id"]), st.integers()),
    purpose=st.sampled_from([*PURPOSE_CODES, "unknown"]),
    items=st.lists(st.sampled_from(ITEMS), unique=True),
)
def test_minimise_never_returns_a_field_outside_the_agreement(answer, purpose, items) -> None:
    class Terms:
        data_items = items

    out = minimise(answer, purpose, Terms())
    shape = set(PURPOSES[purpose].answer_shape) if purpose in PURPOSES else set()
    assert set(out) <= set(items) & shape
    assert all(out[k] == answer[k] for k in out)


def test_every_disclose_leaves_exactly_one_audit_entry(world: TestWorld, session: Session) -> None:
    dl = world.agreement(limit_per_day=3)
    ended = world.agreement()
    from shareguard.agreements.service import AgreementService

    AgreementService(session).transition(ended, "end", world.principals["officer"], "test")
    answer = {"name": "Testa", "date_of_birth": "2000-01-01", "nationality": "X"}

    @settings(
        max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        agreement=st.sampled_from([dl, ended, None]),
        who=st.sampled_from(["agency", "bank"]),
        items=st.lists(st.sampled_from(["name", "date_of_birth", "nationality"]), unique=True),
        subject=subjects,
    )
    def one(agreement, who, items, subject) -> None:
        before = session.scalar(select(func.count()).select_from(AuditEntry))
        out = disclose(
            session,
            DisclosureRequest(
                world.principals[who],
                "check",
                agreement,
                "driving_licence",
                tuple(items),
                subject,
                "attributes",
            ),
            answer,
            kind="check_answer",
        )
        session.commit()
        after = session.scalar(select(func.count()).select_from(AuditEntry))
        assert after == (before or 0) + 1
        entry = session.get(AuditEntry, out.audit_entry_id)
        assert entry is not None
        assert entry.decision == ("permit" if out.decision.allowed else "deny")
        assert (out.answer is not None) == out.decision.allowed
        if out.answer is not None:
            assert "nationality" not in out.answer

    one()

"""The demo register: fixed-seed persons with realistic histories, inserted in bulk."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from sqlalchemy import func, select

from shareguard.status import StatusService
from shareguard.status.demo import _demo_codes, populate, seed
from shareguard.status.models import ImmigrationDecision, Person, PersonName, StatusRecord
from shareguard.status.synthetic import Generator
from shareguard.storage.base import today


def test_same_seed_same_people() -> None:
    a = [(p.names, p.date_of_birth) for p in Generator(7).people(50)]
    b = [(p.names, p.date_of_birth) for p in Generator(7).people(50)]
    assert a == b
    assert a != [(p.names, p.date_of_birth) for p in Generator(8).people(50)]


def test_generator_spans_scripts_and_variants() -> None:
    people = list(Generator(1).people(2000))
    scripts = Counter(s for p in people for _, _, _, s in p.names)
    assert {"Latin", "Cyrillic", "Han", "Arabic"} <= set(scripts)
    assert any(len(p.spellings) > 1 for p in people)  # transliteration variants


def test_populate_histories(session) -> None:  # type: ignore[no-untyped-def]
    world = SimpleNamespace(seed=11, persons=400, users={}, extra={})
    seed(session, world, fresh=True)
    assert session.scalar(select(func.count()).select_from(Person)) == 400
    assert session.scalar(select(func.count()).select_from(PersonName)) >= 400
    svc = StatusService(session)
    # The printed demo codes point at persons whose histories give the promised answers.
    codes = world.extra["share_codes"]
    assert len(codes) == 6
    by_history = {h: pid for pid, _, _, h, _ in _demo_codes(world)}
    assert svc.current_status(by_history["settled"]).kind == "settled"
    assert svc.appeal_state(by_history["appeal_pending"]) in {"lodged", "pending"}
    corrected = by_history["corrected"]
    assert svc.current_status(corrected).kind in {"settled", "pre_settled"}
    history = svc.status_history(corrected)
    assert history[0].kind == "no_leave" and history[-1].supersedes_id == history[0].id
    assert any(d.overturned for d in svc.decisions(corrected))
    # Across the population: corrections, pending appeals and people over 30 all occur.
    assert (
        session.scalar(
            select(func.count())
            .select_from(StatusRecord)
            .where(StatusRecord.reason == "correction")
        )
        > 3
    )
    assert (
        session.scalar(
            select(func.count())
            .select_from(ImmigrationDecision)
            .where(ImmigrationDecision.appeal_state.in_(["lodged", "pending"]))
        )
        > 3
    )
    cutoff = today().replace(year=today().year - 30)
    assert (
        session.scalar(
            select(func.count()).select_from(Person).where(Person.date_of_birth < cutoff)
        )
        > 100
    )
    # Idempotent: a second seed adds nobody.
    seed(session, world, fresh=False)
    assert session.scalar(select(func.count()).select_from(Person)) == 400


def test_populated_persons_are_found_by_blocking_keys(session) -> None:  # type: ignore[no-untyped-def]
    populate(session, 5, 200, None, progress=False)
    svc = StatusService(session)
    people = list(Generator(5).people(200))
    for p in people[:40]:
        found = svc.candidates(p.given, p.family, p.date_of_birth)
        assert any(n.given == p.given for c in found for n in c.names)

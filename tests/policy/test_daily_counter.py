"""The daily volume limit counts what was disclosed that day, kept in one row per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from shareguard.policy import decide, disclose
from tests.factories import TestWorld
from tests.policy.test_door import ANSWER, request


def test_rolled_back_disclosures_do_not_use_the_days_allowance(
    world: TestWorld, session: Session
) -> None:
    aid = world.agreement(limit_per_day=1)
    disclose(session, request(world, aid), ANSWER, kind="check_answer")
    session.rollback()  # the answer, its record and its count go together
    first = disclose(session, request(world, aid), ANSWER, kind="check_answer")
    session.commit()
    assert first.decision.allowed
    second = disclose(session, request(world, aid), ANSWER, kind="check_answer")
    session.commit()
    assert second.decision.kind == "limit"


def test_each_day_has_its_own_allowance(world: TestWorld, session: Session) -> None:
    aid = world.agreement(limit_per_day=1)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert disclose(session, request(world, aid), ANSWER, kind="check_answer").decision.allowed
    session.commit()
    assert decide(session, request(world, aid)).kind == "limit"
    ahead = disclose(session, request(world, aid, at=tomorrow), ANSWER, kind="check_answer")
    session.commit()
    assert ahead.decision.allowed
    assert decide(session, request(world, aid, at=tomorrow)).kind == "limit"


def test_a_reading_sees_its_own_transactions_disclosures(
    world: TestWorld, session: Session
) -> None:
    """A check decides twice on one policy reading; what it disclosed counts at once."""
    from shareguard.policy.door import read_policy

    aid = world.agreement(limit_per_day=1)
    reading = read_policy(session)
    assert decide(session, request(world, aid), reading=reading).allowed
    first = disclose(session, request(world, aid), ANSWER, kind="check_answer", reading=reading)
    assert first.decision.allowed
    second = disclose(session, request(world, aid), ANSWER, kind="check_answer", reading=reading)
    assert second.decision.kind == "limit"
    session.commit()

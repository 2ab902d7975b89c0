"""The year's contests and referrals: people contest results, caseworkers answer.

Each month, through ``checks.CaseService`` at the replayed moments: a share
(``plan.contest_rate``) of the month's checks that did not confirm is contested, by the
person themselves or by a caseworker helping them (when the check named no person); every
contest and every referral the month's checks opened is answered by a synthetic caseworker,
most within the ten days the service gives, a few late. Most contested results turn out to
be a mistyped date of birth or name, so most answers confirm the person's status.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.checks import CaseService
from shareguard.checks.models import Case, CaseKind, CaseState, Check, Outcome
from shareguard.demo.seeds.plan import at
from shareguard.storage.base import replay_clock

if TYPE_CHECKING:  # the builder imports this module: its type alone is needed here
    from shareguard.demo.seeds.build import Seeds

#: How caseworkers answer a contest, and a referral.
CONTEST_ANSWERS = (("confirmed", 0.85), ("not_confirmed", 0.1), ("no_record", 0.05))
REFERRAL_ANSWERS = (("confirmed", 0.8), ("not_confirmed", 0.15), ("no_record", 0.05))
STATEMENT = "My status is settled; I think my date of birth was typed wrongly (seed-scale demo)"
NOTE = "Checked against the register by a synthetic caseworker (seed-scale demo)"


def _pick(rng: random.Random, shares: tuple[tuple[str, float], ...]) -> str:
    r, acc = rng.random(), 0.0
    for outcome, share in shares:
        acc += share
        if r < acc:
            return outcome
    return shares[0][0]


def contests_and_referrals(session: Session, seeds: Seeds, m: int) -> None:
    plan = seeds.plan
    stage = f"{plan.label(m)} contests and referrals"
    rng = random.Random(f"{plan.seed}:cases:{m}")
    start, end = at(plan.month_start(m), 0), at(plan.month_end(m), 0)
    year_end = at(plan.month_end(plan.months - 1), 0)
    service = CaseService(session)
    unconfirmed = session.execute(
        select(Check.id, Check.at, Check.person_id)
        .where(
            Check.at >= start,
            Check.at < end,
            Check.outcome.in_([Outcome.NOT_CONFIRMED, Outcome.NO_MATCH]),
        )
        .order_by(Check.at, Check.id)
    ).all()
    contested = [row for row in unconfirmed if rng.random() < plan.contest_rate]
    for i, (check_id, checked_at, person_id) in enumerate(contested):
        moment = checked_at + timedelta(days=rng.uniform(0.5, 20))
        if moment >= year_end:
            continue  # after the year replayed: not yet contested
        with replay_clock(moment):
            if person_id is not None:
                who = Principal(organisation_id=None, person_id=person_id)
            else:  # no person named: a caseworker contests with them
                who = seeds.staff_principal("caseworker", i)
            case = service.contest(check_id, who, STATEMENT)
        _answer(service, seeds, case, _pick(rng, CONTEST_ANSWERS), rng, i, year_end)
        seeds.progress(stage, i + 1, None)
    referrals = session.scalars(
        select(Case)
        .join(Check, Check.id == Case.check_id)
        .where(
            Case.kind == CaseKind.REFERRAL,
            Case.state == CaseState.OPEN,
            Check.at >= start,
            Check.at < end,
        )
        .order_by(Case.opened_at, Case.id)
    ).all()
    for i, case in enumerate(referrals):
        outcome = _pick(rng, REFERRAL_ANSWERS)
        _answer(service, seeds, case, outcome, rng, i, year_end)
        seeds.progress(stage, len(contested) + i + 1, None)


def _answer(
    service: CaseService,
    seeds: Seeds,
    case: Case,
    outcome: str,
    rng: random.Random,
    i: int,
    year_end: datetime,
) -> None:
    """A caseworker answers, mostly within the ten days allowed, sometimes late (not at all
    when that falls after the year replayed: the case is still open at its end)."""
    days = rng.uniform(1, 9) if rng.random() < 0.93 else rng.uniform(11, 20)
    moment = case.opened_at + timedelta(days=days)
    if moment >= year_end:
        return
    with replay_clock(moment):
        service.resolve(case.id, seeds.staff_principal("caseworker", i + 1), outcome, NOTE)

"""The year's flows into the Home Office: what partners send in and what caseworkers ask them.

Each month, through the exchange services (so through the one door, at the replayed moment):

* NHS trusts report unpaid charges (``NHS-HO-001``, ``plan.nhs_debts_per_day``), one record
  at a time; some carry a ward the agreement does not allow, which the door drops and names;
* HMRC sends an employer file (``HMRC-HO-001``, ``plan.hmrc_file_rows`` rows) in quarantine
  mode: a few malformed rows are left out and listed;
* caseworkers ask DWP for addresses (``DWP-HO-001``, ``plan.dwp_requests_per_week``); DWP
  answers most within days (data, or "not held"), declines a few, leaves a few unanswered,
  and requests past their deadline are escalated at the month's end;
* a few enforcement address requests to the NHS (``NHS-HO-002``) and police reports of victims
  and witnesses (``POL-HO-001``) are refused by the firewall rules, and audited as such.

When DWP answers a request is drawn from the request itself (fixed seed), so a request made
late in one month is answered in the next month's stage, at its own moment.
"""

from __future__ import annotations

import contextlib
import csv
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.demo.seeds.people import PoolPerson, postcode
from shareguard.demo.seeds.plan import at
from shareguard.errors import Refused
from shareguard.exchange import InboundService, RequestService
from shareguard.exchange.models import ExchangeRequest, RequestState
from shareguard.storage.base import replay_clock

if TYPE_CHECKING:  # the builder imports this module: its type alone is needed here
    from shareguard.demo.seeds.build import Seeds

NHS_DEBT = "NHS-HO-001"
NHS_TRACE = "NHS-HO-002"
HMRC_FILE = "HMRC-HO-001"
DWP = "DWP-HO-001"
POLICE = "POL-HO-001"
#: Share of DWP requests answered with data, "not held", declined; the rest stay unanswered.
DWP_ANSWERS = (("data", 0.72), ("not_held", 0.18), ("refused", 0.04))
#: Share of HMRC file rows that are malformed (quarantined), and of NHS reports with a ward.
BAD_ROWS = 0.004
WARD = 0.1
FIREWALLED_PER_MONTH = 2


def _who(seeds: Seeds, rng: random.Random) -> tuple[str, str, str]:
    """Someone the partners might hold: a person with leave or one of the refusal pool."""
    reg = seeds.register
    if reg.pool and rng.random() < 0.5:
        p = rng.choice(reg.pool)
        if p.issue != "implausible":  # born 1899: no partner holds them
            return p.given, p.family, p.date_of_birth.isoformat()
    pid = rng.choice(reg.population)
    given, family = reg.population_names[pid]
    return given, family, reg.population_dob[pid].isoformat()


def flows(session: Session, seeds: Seeds, m: int) -> None:
    """The month's inbound records, HMRC file, requests to partners and firewall refusals."""
    plan = seeds.plan
    stage = f"{plan.label(m)} inbound and requests"
    rng = random.Random(f"{plan.seed}:inbound:{m}")
    days = plan.days(m)
    _nhs_debts(session, seeds, m, rng)
    seeds.progress(stage, 1, 4)
    _hmrc_file(session, seeds, m, rng)
    seeds.progress(stage, 2, 4)
    _dwp_requests(session, seeds, m, rng)
    seeds.progress(stage, 3, 4)
    _firewalled(session, seeds, m, rng)
    with replay_clock(at(days[-1], 23)):
        RequestService(session).escalate_overdue()
    seeds.progress(stage, 4, 4)


def _nhs_debts(session: Session, seeds: Seeds, m: int, rng: random.Random) -> None:
    service = InboundService(session)
    nhs = seeds.partner("nhs")
    for d, day in enumerate(seeds.plan.days(m)):
        for k in range(seeds.plan.nhs_debts_per_day):
            given, family, born = _who(seeds, rng)
            data = {
                "name": f"{given} {family}",
                "date_of_birth": born,
                "address": f"{rng.randrange(1, 200)} Hospital Road, Northfield",
                "postcode": postcode(rng),
                "nhs_debt": f"GBP {rng.randrange(500, 9000)} outstanding",
            }
            if rng.random() < WARD:
                data["ward"] = "Elm ward"  # not in the agreement: dropped and named
            moment = at(day, 9 + k % 8, rng.randrange(60))
            with replay_clock(moment), contextlib.suppress(Refused):
                service.submit_record(
                    nhs, agreement=NHS_DEBT, record_id=f"NHS-DEBT-{m:02d}{d:02d}{k:03d}", data=data
                )


def _hmrc_file(session: Session, seeds: Seeds, m: int, rng: random.Random) -> None:
    plan = seeds.plan
    folder = seeds.folder / "exchange"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"hmrc-employer-returns-{plan.label(m)}.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["record_id", "name", "date_of_birth", "address", "postcode", "employment", "paye_ref"]
        )
        for i in range(plan.hmrc_file_rows):
            given, family, born = _who(seeds, rng)
            post = postcode(rng)
            if rng.random() < BAD_ROWS:  # what real files carry: a slip in one field
                slip = rng.randrange(3)
                born = "31/02/1990" if slip == 0 else born
                family = f"{family}7" if slip == 1 else family
                post = "not a postcode!" if slip == 2 else post
            out.writerow(
                [
                    f"HMRC-EMP-{m:02d}-{i:06d}",
                    f"{given} {family}",
                    born,
                    f"Flat {rng.randrange(1, 9)}, {rng.randrange(1, 90)} Harbour Street",
                    post,
                    "Brightwork Staffing Ltd",
                    f"{rng.randrange(100, 999)}/AB{rng.randrange(10_000):04d}",
                ]
            )
    moment = at(plan.month_start(m) + timedelta(days=5), 6)
    with replay_clock(moment):
        InboundService(session).submit_file(
            seeds.partner("hmrc"), path, agreement=HMRC_FILE, mode="quarantine"
        )


def _answer_plan(seeds: Seeds, row: ExchangeRequest) -> tuple[str, datetime] | None:
    """How and when DWP answers this request (None: never), drawn from the request."""
    rng = random.Random(f"{seeds.plan.seed}:dwp:{row.person_id}:{row.created_at.isoformat()}")
    r, acc = rng.random(), 0.0
    for outcome, share in DWP_ANSWERS:
        acc += share
        if r < acc:
            return outcome, row.created_at + timedelta(days=rng.uniform(0.5, 14))
    return None


def _answer(session: Session, seeds: Seeds, row: ExchangeRequest, outcome: str) -> None:
    rng = random.Random(f"{seeds.plan.seed}:dwp-data:{row.person_id}")
    data = None
    note = ""
    if outcome == "data":
        data = {
            "address": f"{rng.randrange(1, 300)} Claimant Close, Eastshire",
            "postcode": postcode(rng),
            # Not asked for, not in the agreement: the door drops it and names it.
            "national_insurance_number": f"QQ{rng.randrange(10**6):06d}C",
        }
    elif outcome == "refused":
        note = "The request does not say why the address is needed now"
    RequestService(session).answer(
        row.id, seeds.partner("dwp"), outcome=outcome, data=data, note=note
    )


def _dwp_requests(session: Session, seeds: Seeds, m: int, rng: random.Random) -> None:
    plan = seeds.plan
    start, end = at(plan.month_start(m), 0), at(plan.month_end(m), 0)
    service = RequestService(session)
    # Requests from earlier months DWP answers this month.
    waiting = session.scalars(
        select(ExchangeRequest)
        .where(
            ExchangeRequest.agreement_id == seeds.world.agreements[DWP],
            ExchangeRequest.state == RequestState.OPEN,
            ExchangeRequest.created_at < start,
        )
        .order_by(ExchangeRequest.created_at, ExchangeRequest.id)
    ).all()
    todo = []
    for row in waiting:
        planned = _answer_plan(seeds, row)
        if planned is not None and start <= planned[1] < end:
            todo.append((planned[1], row, planned[0]))
    pool: list[PoolPerson] = [p for p in seeds.register.pool if not p.issue]
    weekdays = [d for d in plan.days(m) if d.weekday() < 5]
    per_day = plan.dwp_requests_per_week / 5
    for i, day in enumerate(weekdays):
        n = int(per_day) + (1 if rng.random() < per_day - int(per_day) else 0)
        for k in range(n):
            person = rng.choice(pool)
            moment = at(day, 10 + k % 6, rng.randrange(60))
            with replay_clock(moment):
                row = service.create(
                    seeds.staff_principal("caseworker", i + k),
                    agreement=DWP,
                    person_id=person.person_id,
                    reason="Confirm the last known address before a reporting event",
                    proportionality="Only the address and postcode are asked for",
                    data_items=["address", "postcode"],
                )
            planned = _answer_plan(seeds, row)
            if planned is not None and planned[1] < end:
                todo.append((planned[1], row, planned[0]))
    for moment, row, outcome in sorted(todo, key=lambda t: (t[0], t[1].reference)):
        with replay_clock(moment):
            _answer(session, seeds, row, outcome)


def _firewalled(session: Session, seeds: Seeds, m: int, rng: random.Random) -> None:
    """Flows the firewall refuses whatever their volume: kept and audited, nothing disclosed."""
    requests, inbound = RequestService(session), InboundService(session)
    pool = [p for p in seeds.register.pool if not p.issue]
    days = seeds.plan.days(m)
    for k in range(FIREWALLED_PER_MONTH):
        person = rng.choice(pool)
        with replay_clock(at(rng.choice(days), 14)), contextlib.suppress(Refused):
            requests.create(
                seeds.staff_principal("caseworker", k),
                agreement=NHS_TRACE,
                person_id=person.person_id,
                reason="Trace the person's current address for an enforcement visit",
                data_items=["address", "postcode"],
            )
        category = ("victim", "witness")[k % 2]
        with replay_clock(at(rng.choice(days), 16)), contextlib.suppress(Refused):
            inbound.submit_record(
                seeds.partner("police"),
                agreement=POLICE,
                record_id=f"CRIME-{m:02d}-{k:03d}",
                categories=[category],
                data={
                    "name": f"{person.given} {person.family}",
                    "date_of_birth": person.date_of_birth.isoformat(),
                    "crime_report": f"reported as a {category} of an assault",
                },
            )

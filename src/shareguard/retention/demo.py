"""The demo's retention story: old right-to-rent checks, one retention run, one legal hold.

Oakfield Lettings checked three tenants' right to rent fourteen months ago (replayed through
the real services) and one last month. ``HO-LL-001`` keeps check records one year after the
check; a caseworker holds one tenant's records (a dispute about a tenancy). The retention run
(limited to ``HO-LL-001``, so the rest of the demo keeps its history) pseudonymises the two
old, unheld checks; their audit entries stay, and "who
checked my data" says "details deleted on DATE under the retention rule of HO-LL-001".
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shareguard.accounts.models import Role
from shareguard.accounts.principal import Principal
from shareguard.checks import CheckService
from shareguard.retention.service import RetentionService
from shareguard.status import StatusService
from shareguard.status.schemas import NameIn, PersonIn, StatusIn
from shareguard.storage.base import replay_clock, utcnow

AGREEMENT = "HO-LL-001"
#: Invented tenants: (given, family, date of birth, days ago the landlord checked).
TENANTS = [
    ("Ottoline", "Example-Tenant", date(1990, 2, 14), 425),
    ("Bartholomew", "Example-Tenant", date(1984, 7, 1), 420),
    ("Philippa", "Example-Tenant", date(1979, 11, 23), 415),
    ("Cosmo", "Example-Tenant", date(1995, 5, 30), 30),
]
#: The tenant whose records a caseworker holds.
HELD = 2


def seed(session: Session, world: Any, fresh: bool) -> None:
    if not fresh or AGREEMENT not in world.agreements or "oakfield" not in world.orgs:
        return
    caseworker = world.principal("caseworker")
    landlord = Principal(
        organisation_id=world.orgs["oakfield"],
        user_id=world.users.get("partner:oakfield"),
        roles=frozenset({Role.PARTNER_USER}),
    )
    status = StatusService(session)
    now = utcnow()
    people = []
    for given, family, dob, days in TENANTS:
        with replay_clock(now - timedelta(days=days)):
            on = (now - timedelta(days=days)).date()
            person = status.create_person(
                PersonIn(names=[NameIn(given=given, family=family)], date_of_birth=dob),
                caseworker,
            )
            status.record_status(
                person.id,
                StatusIn(
                    kind="limited_leave",
                    valid_from=on - timedelta(days=200),
                    valid_to=on + timedelta(days=700),
                    source="demo",
                ),
                caseworker,
            )
            _row, code = status.create_share_code(person.id, "right_to_rent", caseworker, days=30)
            CheckService(session).share_code_check(landlord, code, dob, "right_to_rent")
        people.append(person.id)
    service = RetentionService(session)
    service.place_hold(
        caseworker, "Tenancy dispute before the county court (demo)", person_id=people[HELD]
    )
    run, _ = service.start(scope=AGREEMENT)
    while service.step(run.id):
        pass
    done = service.finish(run.id)
    world.extra["retention"] = {
        "agreement": AGREEMENT,
        "erased": done.counts,
        "held": done.held,
        "persons": [str(p) for p in people],
        "held_person": str(people[HELD]),
    }
    from shareguard.clikit import console  # the CLI's console; the demo is a CLI command

    erased = (done.counts or {}).get(AGREEMENT, {}).get("check", 0)
    console.print(
        f"Retention: {erased} right-to-rent check records older than a year under "
        f"{AGREEMENT} pseudonymised; 1 kept under a legal hold "
        "(`shareguard retention report --agreement HO-LL-001`)."
    )

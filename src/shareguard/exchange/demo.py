"""Seed the door's other way: one of each inbound arrangement, with its outcome.

* NHS-HO-001: three debtor reports accepted (a field outside the agreement dropped);
* NHS-HO-002: two address requests refused by the health-care firewall;
* HMRC-HO-001: a bulk employer file, a few malformed rows quarantined;
* DWP-HO-001: one request answered (minimised), one answered "not held", one open;
* POL-HO-001: two reports of a victim and a witness refused by the firewall.

Run once, on a fresh world; everything goes through the services, so through the door.
"""

from __future__ import annotations

import contextlib
import csv
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.config import get_settings
from shareguard.errors import Refused
from shareguard.exchange.inbound import InboundService
from shareguard.exchange.models import ExchangeRequest, InboundBatch
from shareguard.exchange.service import RequestService
from shareguard.status import StatusService
from shareguard.status.models import Person


def _partner(world: Any, code: str) -> Principal:
    return Principal(
        organisation_id=world.orgs[code],
        user_id=world.users.get(f"partner:{code}"),
        roles=frozenset({"partner_user"}),
    )


def _identity(session: Session, person_id: uuid.UUID) -> dict[str, str]:
    person = StatusService(session).person(person_id)
    primary = sorted(person.names, key=lambda n: (n.kind != "primary", n.position))[0]
    return {
        "name": f"{primary.given} {primary.family}",
        "date_of_birth": person.date_of_birth.isoformat(),
    }


def _persons(session: Session, world: Any, n: int) -> list[uuid.UUID]:
    """The printed demo persons first (so the story is easy to follow), then others."""
    ids = [uuid.UUID(c["person_id"]) for c in world.extra.get("share_codes", [])]
    more = session.scalars(select(Person.id).order_by(Person.id).limit(n + len(ids)))
    for pid in more:
        if pid not in ids:
            ids.append(pid)
    return ids[:n]


def seed(session: Session, world: Any, fresh: bool) -> None:
    if session.scalar(select(ExchangeRequest.id).limit(1)) is not None:
        return
    if session.scalar(select(InboundBatch.id).limit(1)) is not None:
        return
    people = _persons(session, world, 12)
    caseworker = world.principal("caseworker")
    requests = RequestService(session)
    inbound = InboundService(session)
    story: dict[str, Any] = {}

    # NHS debtor reports: accepted, minimised (the ward is not in the agreement).
    for i, pid in enumerate(people[:3]):
        who = _identity(session, pid)
        inbound.submit_record(
            _partner(world, "nhs"),
            agreement="NHS-HO-001",
            record_id=f"NHS-DEBT-{i + 1:04d}",
            data={
                **who,
                "address": f"{10 + i} Demo Road, Northfield",
                "postcode": f"NF{i + 1} 2AB",
                "nhs_debt": f"GBP {800 + 150 * i} outstanding since 2026-0{i + 1}-15",
                "ward": "Elm ward",
            },
        )

    # NHS address tracing for enforcement: the firewall refuses before the trust sees it.
    refused = []
    for pid in people[:2]:
        try:
            requests.create(
                caseworker,
                agreement="NHS-HO-002",
                person_id=pid,
                reason="Trace the person's current address for an enforcement visit",
                data_items=["address", "postcode"],
            )
        except Refused as exc:
            refused.append(exc.extra.get("reference"))
    story["nhs_refused"] = refused

    # DWP address requests: one answered (the NI number is dropped), one not held, one open.
    if len(people) >= 6:
        asked = requests.create(
            caseworker,
            agreement="DWP-HO-001",
            person_id=people[3],
            reason="Confirm the last known address before a reporting event",
            proportionality="Only the address and postcode are asked for",
            data_items=["address", "postcode"],
        )
        requests.answer(
            asked.id,
            _partner(world, "dwp"),
            outcome="data",
            data={
                "address": "4 Claimant Close, Eastshire",
                "postcode": "ES4 1CD",
                "national_insurance_number": "QQ123456C",
            },
        )
        not_held = requests.create(
            caseworker,
            agreement="DWP-HO-001",
            person_id=people[4],
            reason="Confirm the last known address before a reporting event",
            data_items=["address"],
        )
        requests.answer(not_held.id, _partner(world, "dwp"), outcome="not_held")
        open_ = requests.create(
            caseworker,
            agreement="DWP-HO-001",
            person_id=people[5],
            reason="Trace an absconder",
            data_items=["address", "postcode"],
        )
        story["dwp"] = [asked.reference, not_held.reference, open_.reference]

    # HMRC employer file: bulk, a few malformed rows quarantined.
    folder = get_settings().data_dir / "exchange" / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hmrc_employer_returns.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["record_id", "name", "date_of_birth", "address", "postcode", "employment", "paye_ref"]
        )
        for i, pid in enumerate(people[6:12] or people):
            who = _identity(session, pid)
            out.writerow(
                [
                    f"HMRC-{i + 1:05d}",
                    who["name"],
                    who["date_of_birth"],
                    f"Flat {i + 1}, 7 Harbour Street, Eastshire",
                    "ES7 3HS",
                    "Brightwork Staffing Ltd (2025-01 to date)",
                    f"123/AB{i:04d}",
                ]
            )
        out.writerow(["HMRC-BAD-1", "Demo Person", "31/02/1990", "7 Harbour Street", "ES7 3HS"])
        out.writerow(
            ["HMRC-BAD-2", "D3mo Person", "1990-01-01", "7 Harbour Street", "ES7 3HS", "", ""]
        )
        out.writerow(
            ["HMRC-BAD-3", "Demo Person", "1990-01-01", "7 Harbour St", "not a postcode!", "", ""]
        )
    done = inbound.submit_file(
        _partner(world, "hmrc"), path, agreement="HMRC-HO-001", mode="quarantine"
    )
    story["hmrc"] = {"file": str(path), "submission": done.batch.reference}

    # Police reports of a victim and a witness: refused by the firewall, audited.
    who = _identity(session, people[0]) if people else {"name": "Demo Person"}
    for category in ("victim", "witness"):
        with contextlib.suppress(Refused):
            inbound.submit_record(
                _partner(world, "police"),
                agreement="POL-HO-001",
                record_id=f"CRIME-{category.upper()}",
                categories=[category],
                data={**who, "crime_report": f"reported as a {category} of an assault"},
            )
    world.extra["two_way"] = story

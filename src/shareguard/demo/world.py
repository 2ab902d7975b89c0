"""Seed the demo world: organisations, users, agreements in every state, partner API keys.

Capabilities add their own part through a ``demo`` room with ``seed(session, world, fresh)``;
this module seeds the foundation and calls them in capability order, each in its own unit of
work (the demo is a boundary, like a CLI command; the seeders never commit).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from shareguard.accounts import KEY_PREFIX, AccountService, hash_key_secret
from shareguard.accounts.models import ApiKey, Organisation, Role, User
from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.agreements.schemas import AgreementIn, PartyIn
from shareguard.agreements.service import AgreementService
from shareguard.capabilities import rooms
from shareguard.storage.base import today
from shareguard.storage.db import unit_of_work

DEMO_PASSWORD = "shareguard-demo"
HOME_OFFICE = "Home Office"

ORGANISATIONS: list[tuple[str, str, str]] = [
    # name, type, short code (used in emails and key names)
    (HOME_OFFICE, "government_department", "ho"),
    ("Driver and Vehicle Licensing Agency", "agency", "dvla"),
    ("HM Revenue and Customs", "government_department", "hmrc"),
    ("Department for Work and Pensions", "government_department", "dwp"),
    ("Department for Education", "government_department", "dfe"),
    ("Northfield NHS Trust", "nhs_body", "nhs"),
    ("Riverside Primary School", "school", "school"),
    ("Eastshire Police", "police_force", "police"),
    ("Northbank plc", "bank", "northbank"),
    ("Harbour Building Society", "bank", "harbour"),
    ("Brightwork Staffing Ltd", "employer", "brightwork"),
    ("Oakfield Lettings", "landlord", "oakfield"),
    ("Data Protection Regulator", "regulator", "regulator"),
]

STAFF: list[tuple[str, str, list[str]]] = [
    # email local part, display name, roles (all at the Home Office)
    ("officer", "Governance officer (demo)", [Role.GOVERNANCE_OFFICER]),
    ("officer2", "Second governance officer (demo)", [Role.GOVERNANCE_OFFICER]),
    ("caseworker", "Caseworker (demo)", [Role.CASEWORKER]),
    ("caseworker2", "Second caseworker (demo)", [Role.CASEWORKER]),
    ("reviewer", "Reviewer (demo)", [Role.REVIEWER]),
    ("auditor", "Auditor (demo)", [Role.AUDITOR]),
]


@dataclass
class World:
    """What the seeders share: ids by short code, the random source, the scale."""

    seed: int
    persons: int
    rng: random.Random
    orgs: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    agreements: dict[str, uuid.UUID] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def principal(self, user: str) -> Principal:
        return Principal(
            organisation_id=self.orgs["ho"],
            user_id=self.users[user],
            roles=frozenset(r for e, _, rs in STAFF if e == user for r in rs),
        )


def email(local: str, org_code: str = "ho") -> str:
    return f"{local}@{org_code}.demo.example"


def _agreement_specs(on: date) -> list[tuple[dict[str, Any], list[str]]]:
    """(fields, lifecycle actions) for each demo agreement."""
    year = timedelta(days=365)
    common: dict[str, Any] = {
        "lawful_basis": "Art 6(1)(e) public task",
        "dpia_reference": "DPIA-DEMO",
        "dpia_date": on - year,
        "necessity_statement": "Only the answer the recipient's statutory duty needs is shared.",
        "data_standards": "Records verified by a second caseworker; quarterly accuracy sampling.",
        "rights_handling": "Requests go to the single point of contact within one month.",
        "contact_point": "data-sharing@ho.demo.example",
        "security_measures": "TLS 1.3, API keys scoped to this agreement, access logged.",
        "termination_procedure": "Either party may end with 30 days' notice; data is then deleted.",
        "amendment_duty": "Parties tell each other of amendments within 10 working days.",
        "decision_maker": "Director, Data Sharing (demo)",
        "start_date": on - 2 * year,
        "review_date": on + year,
    }

    def spec(
        ref: str, title: str, purposes: list[str], items: list[str], recipient: str, **kw: Any
    ) -> dict[str, Any]:
        discloser = kw.pop("discloser", HOME_OFFICE)
        return {
            **common,
            **_retention(discloser == HOME_OFFICE, kw.get("bulk", False)),
            "reference": ref,
            "title": title,
            "purposes": purposes,
            "data_items": items,
            "parties": [
                PartyIn(organisation=discloser, role="discloser"),
                PartyIn(organisation=recipient, role="recipient"),
            ],
            **kw,
        }

    return [
        (
            spec(
                "HO-DVLA-001",
                "Proactive sharing of refusals with the driving licence agency",
                ["driving_licence"],
                ["name", "date_of_birth", "lawfully_resident", "valid_until"],
                "Driver and Vehicle Licensing Agency",
                bulk=True,
                frequency="monthly batch",
                legal_gateway_statute="Immigration Act 2014",
                legal_gateway_section="s.46",
                limit_per_day=5000,
                limit_per_run=5000,
                summary="Refused applicants with a final decision are matched to licence holders.",
            ),
            ["activate"],
        ),
        (
            spec(
                "HO-DVLA-002",
                "Driving licence applicant status checks",
                ["driving_licence"],
                ["name", "date_of_birth", "lawfully_resident", "valid_until"],
                "Driver and Vehicle Licensing Agency",
                frequency="real time",
                legal_gateway_statute="Road Traffic Act 1988",
                legal_gateway_section="s.97A",
                limit_per_day=20000,
            ),
            ["activate"],
        ),
        (
            spec(
                "HO-HMRC-001",
                "Tax-credit compliance matching",
                ["tax_compliance"],
                ["name", "date_of_birth", "lawfully_resident", "decision", "valid_until"],
                "HM Revenue and Customs",
                bulk=True,
                frequency="quarterly batch",
                legal_gateway_statute="Immigration and Asylum Act 1999",
                legal_gateway_section="s.20",
                limit_per_day=10000,
                limit_per_run=10000,
            ),
            ["activate"],
        ),
        (
            spec(
                "HO-DWP-001",
                "Benefit entitlement status checks",
                ["benefit_entitlement"],
                ["name", "date_of_birth", "public_funds", "valid_until"],
                "Department for Work and Pensions",
                frequency="real time",
                legal_gateway_statute="Immigration and Asylum Act 1999",
                legal_gateway_section="s.20",
                limit_per_day=20000,
            ),
            ["activate"],
        ),
        (
            spec(
                "HO-NHS-001",
                "Overseas visitor charging checks",
                ["nhs_charging"],
                ["name", "date_of_birth", "exempt_from_charges", "valid_until"],
                "Northfield NHS Trust",
                frequency="real time",
                legal_gateway_statute="National Health Service Act 2006",
                legal_gateway_section="s.175",
                limit_per_day=2000,
            ),
            ["activate"],
        ),
        (
            spec(
                "HO-BANK-001",
                "Current account status checks",
                ["bank_account"],
                ["name", "date_of_birth", "lawfully_resident", "valid_until"],
                "Northbank plc",
                frequency="real time",
                legal_gateway_statute="Immigration Act 2014",
                legal_gateway_section="s.40",
                limit_per_day=5000,
            ),
            ["activate"],
        ),
        (
            spec(
                "HO-BANK-002",
                "Building society account status checks",
                ["bank_account"],
                ["name", "date_of_birth", "lawfully_resident", "valid_until"],
                "Harbour Building Society",
                frequency="real time",
                legal_gateway_statute="Immigration Act 2014",
                legal_gateway_section="s.40",
                limit_per_day=2000,
            ),
            ["activate", "pause"],
        ),
        (
            spec(
                "HO-EMP-001",
                "Right to work checks by share code",
                ["right_to_work"],
                ["name", "photo_ref", "may_work", "work_conditions", "valid_until"],
                "Brightwork Staffing Ltd",
                frequency="real time",
                legal_gateway_statute="Immigration, Asylum and Nationality Act 2006",
                legal_gateway_section="s.15",
                limit_per_day=5000,
            ),
            ["activate"],
        ),
        (
            spec(
                "HO-LL-001",
                "Right to rent checks by share code",
                ["right_to_rent"],
                ["name", "photo_ref", "may_rent", "valid_until"],
                "Oakfield Lettings",
                frequency="real time",
                legal_gateway_statute="Immigration Act 2014",
                legal_gateway_section="s.22",
                limit_per_day=1000,
                review_date=on + timedelta(days=20),
            ),
            ["activate"],
        ),
        (
            spec(
                "DFE-HO-001",
                "School census nationality data for enforcement",
                ["immigration_enforcement"],
                ["name", "date_of_birth", "nationality", "address", "school_census"],
                HOME_OFFICE,
                discloser="Department for Education",
                bulk=True,
                frequency="termly",
                legal_gateway_statute="Education Act 1996",
                legal_gateway_section="s.537A",
                limit_per_day=1500,
                limit_per_run=1500,
                summary="Ended: the firewall forbids school data for enforcement.",
            ),
            ["activate", "end"],
        ),
        # The door's other way: data partners send to the Home Office (docs/two-way.md).
        (
            spec(
                "NHS-HO-001",
                "NHS debtor reporting to the Home Office",
                ["nhs_debt"],
                ["name", "date_of_birth", "nationality", "address", "postcode", "nhs_debt"],
                HOME_OFFICE,
                discloser="Northfield NHS Trust",
                frequency="as debts arise",
                legal_gateway_statute="NHS (Charges to Overseas Visitors) Regulations 2015",
                legal_gateway_section="reg. 3",
                limit_per_day=200,
                summary="Trusts report unpaid charges of GBP 500 or more, for immigration "
                "applications; no clinical information is sent.",
            ),
            ["activate"],
        ),
        (
            spec(
                "NHS-HO-002",
                "NHS address tracing for immigration enforcement",
                ["immigration_enforcement"],
                ["name", "date_of_birth", "address", "postcode"],
                HOME_OFFICE,
                discloser="Northfield NHS Trust",
                frequency="on request",
                legal_gateway_statute="Immigration and Asylum Act 1999",
                legal_gateway_section="s.20",
                limit_per_day=100,
                summary="Requests for patients' addresses to trace people for enforcement. "
                "Every request is refused: the health-care firewall rule forbids it.",
            ),
            ["activate"],
        ),
        (
            spec(
                "HMRC-HO-001",
                "Employer data for identifying houses in multiple occupation",
                ["immigration_enforcement"],
                ["name", "date_of_birth", "address", "postcode", "employment"],
                HOME_OFFICE,
                discloser="HM Revenue and Customs",
                bulk=True,
                frequency="monthly file",
                legal_gateway_statute="Immigration and Asylum Act 1999",
                legal_gateway_section="s.20",
                limit_per_day=5000,
                limit_per_run=5000,
                summary="Employees' addresses from employer returns, sent as a bulk file.",
            ),
            ["activate"],
        ),
        (
            spec(
                "DWP-HO-001",
                "Address requests for a named person",
                ["immigration_enforcement"],
                ["name", "date_of_birth", "address", "postcode"],
                HOME_OFFICE,
                discloser="Department for Work and Pensions",
                frequency="on request",
                legal_gateway_statute="Immigration and Asylum Act 1999",
                legal_gateway_section="s.20",
                limit_per_day=200,
                summary="A caseworker asks for one person's last known address, with a reason.",
            ),
            ["activate"],
        ),
        (
            spec(
                "POL-HO-001",
                "Police reports of victims and witnesses",
                ["immigration_enforcement"],
                ["name", "date_of_birth", "nationality", "address", "crime_report"],
                HOME_OFFICE,
                discloser="Eastshire Police",
                special_category_condition="DPA 2018 Sch 1 para 10 (unlawful acts)",
                frequency="as reported",
                legal_gateway_statute="Immigration and Asylum Act 1999",
                legal_gateway_section="s.20",
                limit_per_day=100,
                summary="Every report is refused: victims and witnesses of crime are protected "
                "by a firewall rule.",
            ),
            ["activate"],
        ),
        (
            spec(
                "HO-POL-001",
                "Police status checks on arrest",
                ["immigration_enforcement"],
                ["name", "date_of_birth", "nationality", "status", "decision"],
                "Eastshire Police",
                frequency="real time",
                legal_gateway_statute="",
                legal_gateway_section="",
                limit_per_day=500,
            ),
            [],
        ),
    ]


def _retention(outbound: bool, bulk: bool) -> dict[str, Any]:
    """Retention for a demo agreement: the explanation and the rules enforced."""
    if not outbound:
        return {
            "retention": "Requests, answers and records received are kept for two years, then "
            "their personal data is removed.",
            "retention_rules": {"request": "P2Y after answer", "inbound": "P2Y after receipt"},
        }
    rules = {"check": "P1Y after check"}
    text = "Check records are kept for one year after the check"
    if bulk:
        rules |= {"match_run": "P6M after run", "partner_dataset": "P30D after import"}
        text += "; match results six months after the run; partner files 30 days after import"
    return {
        "retention": text + ". The recipient deletes disclosed data after 12 months.",
        "retention_rules": rules,
    }


def seed(engine: Engine | None = None, *, seed: int = 20261123, persons: int = 10_000) -> World:
    """Create the demo world if absent; return it either way (idempotent).

    The demo is a boundary: each stage (accounts, agreements and keys, then each capability's
    ``demo`` room) is its own unit of work on ``engine`` (default: the configured database).
    """
    world = World(seed=seed, persons=persons, rng=random.Random(seed))
    with unit_of_work(engine) as session:
        fresh = _accounts(session, world)
    with unit_of_work(engine) as session:
        _agreements(session, world)
    for module in rooms("demo"):
        with unit_of_work(engine) as session:
            module.seed(session, world, fresh=fresh)
    return world


def _accounts(session: Session, world: World) -> bool:
    """Organisations, staff and partner users; True if the world is new."""
    accounts = AccountService(session)
    existing = session.scalar(select(Organisation).where(Organisation.name == HOME_OFFICE))
    for name, type_, code in ORGANISATIONS:
        org = session.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            org = accounts.create_organisation(name, type_)
        world.orgs[code] = org.id
    for local, display, roles in STAFF:
        user = session.scalar(select(User).where(User.email == email(local)))
        if user is None:
            user = accounts.create_user(
                world.orgs["ho"], email(local), display, list(roles), DEMO_PASSWORD
            )
        world.users[local] = user.id
    for _name, _type, code in ORGANISATIONS[1:]:
        user = session.scalar(select(User).where(User.email == email("partner", code)))
        if user is None:
            user = accounts.create_user(
                world.orgs[code],
                email("partner", code),
                f"Partner user ({code})",
                [Role.PARTNER_USER],
                DEMO_PASSWORD,
            )
        world.users[f"partner:{code}"] = user.id
    return existing is None


def _agreements(session: Session, world: World) -> None:
    """The demo agreements in every state, and a stable API key per partner."""
    service = AgreementService(session)
    author, signer = world.principal("officer"), world.principal("officer2")
    for fields, actions in _agreement_specs(today()):
        agreement = session.scalar(
            select(Agreement).where(Agreement.reference == fields["reference"])
        )
        if agreement is None:
            agreement = service.create(AgreementIn(**fields), author)
            for action in actions:
                who = signer if action == "activate" else author
                reason = {
                    "pause": "Paused pending a data-quality review (demo)",
                    "end": "Ended: school census data is protected by a firewall rule",
                }.get(action, "")
                service.transition(agreement.id, action, who, reason)
        world.agreements[fields["reference"]] = agreement.id
    for _name, _type, code in ORGANISATIONS[1:]:
        world.keys[code] = _demo_key(session, world, code)


def _demo_key(session: Session, world: World, code: str) -> str:
    """A stable key per partner, derived from the seed, so restarts print the same keys.

    Deterministic keys are only acceptable because the demo world is synthetic and local.
    """
    rng = random.Random(f"{world.seed}:{code}")
    prefix = f"demo{code[:4]}{rng.randrange(16**4):04x}"[:12]
    secret = "".join(
        rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(32)
    )
    if session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) is None:
        session.add(
            ApiKey(
                organisation_id=world.orgs[code],
                name=f"demo key ({code})",
                prefix=prefix,
                secret_hash=hash_key_secret(secret),
                agreement_ids=[],
            )
        )
    return f"{KEY_PREFIX}_{prefix}_{secret}"

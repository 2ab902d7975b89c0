"""A small story for corrections and reports: one person's wrong record reaches three recipients.

The agency and the bank learn it through real-time checks; the council through a match run
(a candidate disclosed through the one door as a match result, reviewed twice, an adverse
action reported). Synthetic data only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from shareguard.accounts.service import AccountService
from shareguard.agreements.schemas import PartyIn
from shareguard.checks import AttributeQuery, CheckService
from shareguard.matching import ReviewService
from shareguard.matching.models import Candidate, MatchRun, PartnerDataset
from shareguard.status import subject_for
from shareguard.status.models import ImmigrationDecision, Person, StatusRecord
from shareguard.storage.base import today
from tests import factories
from tests.factories import TestWorld

GIVEN, FAMILY, DOB = "Hortense", "Testperson", date(1950, 6, 22)


@dataclass
class Story:
    person: Person
    status: StatusRecord
    decision: ImmigrationDecision
    agreements: dict[str, uuid.UUID] = field(default_factory=dict)
    candidate_id: uuid.UUID | None = None
    adverse_action_id: uuid.UUID | None = None
    check_ids: list[uuid.UUID] = field(default_factory=list)


def add_council(world: TestWorld) -> None:
    accounts = AccountService(world.session)
    world.orgs["council"] = accounts.create_organisation("Test Council", "local_authority").id
    _, token = accounts.issue_key(world.orgs["council"], "council key")
    world.keys["council"] = token
    world.principals["council"] = accounts.authenticate_key(token)
    user = accounts.create_user(
        world.orgs["dept"], "reviewer2@test.example", "reviewer2", ["reviewer"], "test-password-123"
    )
    world.users["reviewer2"] = user.id
    world.principals["reviewer2"] = accounts.principal_for_user(user)
    world.session.commit()


def build(world: TestWorld) -> Story:
    """The person with a wrong "no leave" record and a wrong final refusal, and three shares."""
    s = world.session
    if "council" not in world.orgs:
        add_council(world)
    person = factories.person(
        world, GIVEN, FAMILY, DOB, nationality="JAM", postcode="SE5 7QQ", commit=False
    )
    decision = factories.decision(
        world, person.id, source="caseworking", evidence_ref="CASE-1", commit=False
    )
    status = factories.status_record(
        world,
        person.id,
        "no_leave",
        valid_from=today() - timedelta(days=200),
        may_work=False,
        may_rent=False,
        source="caseworking",
        evidence_ref="CASE-1",
        commit=False,
    )
    story = Story(person=person, status=status, decision=decision)
    story.agreements["agency"] = world.agreement(purposes=["driving_licence"])
    story.agreements["bank"] = world.agreement(
        purposes=["bank_account"],
        parties=[
            PartyIn(organisation="Test Department", role="discloser"),
            PartyIn(organisation="Test Bank", role="recipient"),
        ],
    )
    story.agreements["council"] = world.agreement(
        purposes=["tax_compliance"],
        data_items=["name", "date_of_birth", "lawfully_resident", "decision", "valid_until"],
        bulk=True,
        parties=[
            PartyIn(organisation="Test Department", role="discloser"),
            PartyIn(organisation="Test Council", role="recipient"),
        ],
    )
    checks = CheckService(s)
    for org, purpose in (("agency", "driving_licence"), ("bank", "bank_account")):
        result = checks.attribute_check(
            world.principals[org], AttributeQuery(purpose, GIVEN, FAMILY, DOB)
        )
        story.check_ids.append(result.check.id)
    story.candidate_id = match_run_disclosure(world, story)
    s.commit()  # the story is its own unit of work (services never commit)
    return story


def match_run_disclosure(world: TestWorld, story: Story) -> uuid.UUID:
    """A run's candidate disclosed as a match result, reviewed by two, acted on by the council."""
    from shareguard.matching.watchlist import recipient_principal
    from shareguard.policy import DisclosureRequest, disclose_many

    s = world.session
    agreement_id = story.agreements["council"]
    dataset = PartnerDataset(
        agreement_id=agreement_id,
        organisation_id=world.orgs["council"],
        name="council.csv",
        source_format="csv",
        path="/nonexistent/council.parquet",
        rows=1,
        sha256="0" * 64,
    )
    s.add(dataset)
    s.flush()
    run = MatchRun(agreement_id=agreement_id, dataset_id=dataset.id, state="succeeded")
    s.add(run)
    s.flush()
    cand = Candidate(
        run_id=run.id,
        person_id=story.person.id,
        partner_record_id="C-1",
        match_probability=0.99,
        match_weight=12.0,
        band="match",
    )
    s.add(cand)
    s.flush()
    from shareguard.agreements.models import Agreement

    agreement = s.get(Agreement, agreement_id)
    assert agreement is not None
    request = DisclosureRequest(
        principal=recipient_principal(agreement),
        action="bulk_disclosure",
        agreement_id=agreement_id,
        purpose="tax_compliance",
        data_items=tuple(agreement.data_items),
        subject=subject_for(s, story.person.id),
    )
    answer = {
        "name": f"{GIVEN} {FAMILY}",
        "date_of_birth": DOB.isoformat(),
        "lawfully_resident": False,
        "decision": {"type": "refusal"},
        "valid_until": None,
    }
    [done] = disclose_many(
        s, [(request, answer, [str(story.decision.id), str(story.status.id)])], kind="match_result"
    )
    assert done.decision.allowed, done.decision.reason
    cand.disclosure_id = done.disclosure_id
    s.commit()
    matching = ReviewService(s)
    matching.review(cand.id, "same", world.principals["reviewer"])
    matching.review(cand.id, "same", world.principals["reviewer2"])
    action = matching.report_adverse_action(
        cand.id,
        "benefit_stopped",
        "Write to the council within 28 days",
        world.principals["council"],
    )
    story.adverse_action_id = action.id
    return cand.id

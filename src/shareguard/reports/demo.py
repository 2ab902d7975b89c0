"""Demo story: the refusal pool shared with the driving-licence agency, errors and all.

Monthly bulk shares under HO-DVLA-001 over the last six months include wrong refusals; the
agency revokes licences on reviewed matches; the over-30 pause (seeded by the policy demo)
refuses part of every share; the wrong refusals are corrected (a second caseworker approves,
since each lifts an adverse action), the agency acknowledges some notices, one is overdue and
escalates, and the officer records a value assessment. ``shareguard report --agreement
HO-DVLA-001`` then shows the error rate, time to rectify and the pause's effect.

Small and fast: about 36 persons. The historical runs are recorded as the matching service
would after linking (the linkage itself is the matching demo's business); everything that
leaves goes through the one door, and reviews, adverse actions and corrections go through
their services.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.config import get_settings
from shareguard.corrections import CorrectionService, NoticeService
from shareguard.matching import ReviewService
from shareguard.matching.models import Candidate, MatchRun, PartnerDataset
from shareguard.policy import DisclosureRequest, disclose_many
from shareguard.reports.service import ReportService
from shareguard.status import StatusService, status_answer, subject_for
from shareguard.status.schemas import DecisionIn, NameIn, PersonIn, StatusIn
from shareguard.storage.base import today, utcnow

AGREEMENT = "HO-DVLA-001"
RUNS = 6
PER_RUN = 6
WRONG = 4  # refusals later found wrong, each with a revoked licence

GIVEN = [
    "Hortense",
    "Winston",
    "Calvin",
    "Merline",
    "Delroy",
    "Paulette",
    "Anthony",
    "Glenda",
    "Errol",
    "Sonia",
    "Leroy",
    "Yvonne",
    "Clifton",
    "Marcia",
    "Desmond",
    "Beverley",
    "Neville",
    "Joycelyn",
]
FAMILY = [
    "Demo-Baptiste",
    "Demo-Campbell",
    "Demo-Francis",
    "Demo-Grant",
    "Demo-Henry",
    "Demo-Morrison",
    "Demo-Reid",
    "Demo-Thompson",
    "Demo-Williams",
]


def seed(session: Session, world: Any, fresh: bool) -> None:
    if not fresh or AGREEMENT not in world.agreements or "dvla" not in world.orgs:
        return

    rng = random.Random(world.seed + 8)
    agreement = session.get(Agreement, world.agreements[AGREEMENT])
    assert agreement is not None
    cw, cw2 = world.principal("caseworker"), world.principal("caseworker2")
    dvla = Principal(organisation_id=world.orgs["dvla"], roles=frozenset({"partner_user"}))
    status = StatusService(session)
    now = utcnow()

    # the refusal pool: final refusals, appeal windows passed, no leave recorded
    people: list[tuple[Any, Any]] = []
    for i in range(RUNS * PER_RUN):
        over_30 = i % 2 == 1
        born = date(1950 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28))
        if not over_30:
            born = date(
                today().year - 19 - rng.randrange(9), 1 + rng.randrange(12), 1 + rng.randrange(28)
            )
        person = status.create_person(
            PersonIn(
                names=[NameIn(given=rng.choice(GIVEN), family=rng.choice(FAMILY))],
                date_of_birth=born,
                nationality="JAM",
            ),
            cw,
        )
        decision = status.record_decision(
            person.id,
            DecisionIn(
                type="refusal",
                decided_on=today() - timedelta(days=400 + i),
                final=True,
                appeal_window_end=today() - timedelta(days=300),
                source="caseworking",
                evidence_ref=f"DEMO-REF-{i:03d}",
            ),
            cw,
        )
        status.record_status(
            person.id,
            StatusIn(
                kind="no_leave",
                valid_from=today() - timedelta(days=400 + i),
                may_work=False,
                may_rent=False,
                source="caseworking",
                evidence_ref=f"DEMO-REF-{i:03d}",
            ),
            cw,
        )
        people.append((person, decision))

    # six monthly shares, each through the one door; the over-30 pause refuses part of each
    matching = ReviewService(session)
    acted: list[tuple[Any, Any]] = []
    for r in range(RUNS):
        at = now - timedelta(days=30 * (RUNS - r))
        dataset = PartnerDataset(
            agreement_id=agreement.id,
            organisation_id=world.orgs["dvla"],
            name=f"dvla-licence-holders-{at:%Y-%m}.csv",
            source_format="csv",
            path="",
            rows=5000,
            sha256="0" * 64,
            created_at=at,
        )
        session.add(dataset)
        session.flush()
        run = MatchRun(
            agreement_id=agreement.id,
            dataset_id=dataset.id,
            state="succeeded",
            stage="done",
            progress=1.0,
            two_person_rule=False,
            created_at=at,
            started_at=at,
            finished_at=at + timedelta(minutes=3),
            counts={"replayed": True},
        )
        session.add(run)
        session.flush()
        batch = people[r * PER_RUN : (r + 1) * PER_RUN]
        cands, items = [], []
        for person, _decision in batch:
            cand = Candidate(
                run_id=run.id,
                person_id=person.id,
                partner_record_id=f"DVLA-{uuid.UUID(int=rng.getrandbits(128)).hex[:10]}",
                match_probability=round(0.95 + rng.random() * 0.05, 4),
                match_weight=round(10 + rng.random() * 8, 2),
                band="match",
            )
            session.add(cand)
            cands.append(cand)
            request = DisclosureRequest(
                principal=Principal(
                    organisation_id=world.orgs["dvla"], roles=frozenset({"partner_user"})
                ),
                action="bulk_disclosure",
                agreement_id=agreement.id,
                purpose="driving_licence",
                data_items=tuple(agreement.data_items),
                subject=subject_for(session, person.id),
                at=at,
            )
            # The answer any path gives about the person (status.answer), minimised by the door.
            built = status_answer(person, status.standing(person.id), "driving_licence")
            items.append((request, built.answer, built.record_refs))
        session.flush()
        results = []
        for cand, done in zip(
            cands, disclose_many(session, items, kind="match_result"), strict=True
        ):
            if done.decision.allowed:
                cand.disclosure_id = done.disclosure_id
                results.append(
                    {
                        "candidate_id": str(cand.id),
                        "partner_record_id": cand.partner_record_id,
                        "match_probability": cand.match_probability,
                        "person": done.answer,
                    }
                )
            else:
                cand.refused_reason = done.decision.reason[:300]
        # What the agency received, kept as a real run keeps it, so its match results page shows it.
        out = get_settings().data_dir / "matching" / "runs" / str(run.id)
        out.mkdir(parents=True, exist_ok=True)
        (out / "partner_results.json").write_text(json.dumps(results, indent=2, default=str))
        run.out_dir = str(out)
        run.counts = {"replayed": True, "partner_rows": dataset.rows, "disclosed": len(results)}
        session.flush()
        for cand, (person, decision) in zip(cands, batch, strict=True):
            if cand.disclosure_id is None:
                continue
            same = rng.random() > 0.15
            matching.review(cand.id, "same" if same else "not_same", world.principal("reviewer"))
            if same:
                matching.report_adverse_action(
                    cand.id,
                    "licence_revoked",
                    "Write to the agency within 28 days, or ask the Home Office to check",
                    dvla,
                )
                acted.append((person, decision))

    # the wrong refusals come to light and are corrected; the agency is told each time
    corrections, notices = CorrectionService(session), NoticeService(session)
    for k, (_person, decision) in enumerate(acted[:WRONG]):
        c = corrections.correct(
            cw,
            target_kind="decision",
            target_id=decision.id,
            reason="Arrived before 1973 with leave; the refusal was made on missing records",
            evidence_ref=f"DEMO-LANDING-CARD-{k}",
            changes={"overturned": True},
            expected_action="Reinstate the driving licence and write to the holder",
        )
        sent = now - timedelta(days=20) if k == WRONG - 1 else now - timedelta(days=10 - k)
        corrections.approve(c.id, cw2, now=sent)
        if k < WRONG - 2:
            for notice in notices.notices_of(c.id):
                notices.acknowledge(notice.id, dvla, "Licence reinstated")
    notices.escalate_overdue()

    ReportService(session).assess(
        agreement.id,
        world.principal("officer"),
        period_start=today() - timedelta(days=180),
        period_end=today(),
        benefit_claimed="Stops people without leave holding driving licences",
        evidence="Revocations only; no evidence of reduced unlawful driving. Several revocations "
        "rested on wrong refusals and were overturned.",
        evidence_strength="weak",
        conclusion="amend",
        next_review_date=today() + timedelta(days=45),
    )
    world.extra["report_story"] = {"runs": RUNS, "acted": len(acted), "corrected": WRONG}

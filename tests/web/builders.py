"""Builders for console tests: a match candidate without running Splink (tiny Parquet file),
and a data-quality finding."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from shareguard.matching.models import Candidate, MatchRun, PartnerDataset
from shareguard.quality.service import QualityService
from tests import factories

EXPLANATION = [
    {"comparison": "prior", "level": "probability two random records match", "match_weight": -9.5},
    {"comparison": "first_name", "level": "transliteration variant", "match_weight": 4.1},
    {"comparison": "date_of_birth", "level": "exact", "match_weight": 9.2},
]


def candidate(
    session: Session,
    agreement_id: uuid.UUID,
    person_id: uuid.UUID,
    folder: Path,
    *,
    first_name: str = "Muhammad",
    surname: str = "Reviewcase",
    dob: str = "1979-05-06",
) -> uuid.UUID:
    """A succeeded run with one candidate pairing ``person_id`` with partner record P-17."""
    path = folder / f"partner-{uuid.uuid4().hex[:8]}.parquet"
    pq.write_table(
        pa.table(
            {
                "record_id": ["P-17"],
                "first_name": [first_name],
                "surname": [surname],
                "date_of_birth": [dob],
                "postcode": ["AB1 2CD"],
            }
        ),
        path,
    )
    dataset = PartnerDataset(
        agreement_id=agreement_id,
        name="test",
        source_format="csv",
        path=str(path),
        rows=1,
        sha256="0" * 64,
    )
    session.add(dataset)
    session.flush()
    run = MatchRun(
        agreement_id=agreement_id, dataset_id=dataset.id, state="succeeded", two_person_rule=True
    )
    session.add(run)
    session.flush()
    cand = Candidate(
        run_id=run.id,
        person_id=person_id,
        partner_record_id="P-17",
        match_probability=0.93,
        match_weight=3.8,
        band="possible",
        explanation=EXPLANATION,
    )
    session.add(cand)
    session.commit()
    cid = cand.id
    session.rollback()
    return cid


def quality_finding(world: Any, given: str = "Amara", family: str = "Okonkwo") -> str:
    """One open "implausible dates" finding (a decision dated before the person was born)."""
    s = world.session
    p = factories.person(world, given, family, date(1990, 4, 12), commit=False)
    factories.decision(
        world,
        p.id,
        decided_on=date(1980, 1, 1),
        final=False,
        appeal_window_end=None,
        source="x",
        evidence_ref="E",
        commit=False,
    )
    QualityService(s).run(world.principals["reviewer"], only=["implausible_dates"])
    [f] = QualityService(s).findings(world.principals["reviewer"])
    s.commit()
    return str(f.id)

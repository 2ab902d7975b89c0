"""Demo: a gated watch list on the DVLA bulk agreement and a noisy partner file to match."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.clikit import console
from shareguard.config import get_settings
from shareguard.errors import ShareguardError
from shareguard.matching.models import WatchlistEntry
from shareguard.matching.synth import _typo, generate
from shareguard.matching.watchlist import WatchlistService
from shareguard.status.models import ImmigrationDecision, Person
from shareguard.storage.base import today

AGREEMENT = "HO-DVLA-001"
MAX_ENTRIES = 60


def seed(session: Session, world: Any, fresh: bool) -> None:
    """Propose and verify refused persons for HO-DVLA-001; write a partner CSV beside the data."""
    agreement_id = world.agreements.get(AGREEMENT)
    if agreement_id is None or "caseworker2" not in world.users:
        return
    if session.scalar(select(WatchlistEntry.id).limit(1)) is not None:
        return
    stmt = (
        select(ImmigrationDecision)
        .where(
            ImmigrationDecision.type == "refusal",
            ImmigrationDecision.final.is_(True),
            ImmigrationDecision.appeal_window_end < today(),
        )
        .order_by(ImmigrationDecision.id)
        .limit(MAX_ENTRIES)
    )
    watch = WatchlistService(session)
    rng = random.Random(world.seed)
    rows: list[dict[str, Any]] = []
    for decision in session.scalars(stmt).all():
        try:
            # A savepoint per person: a refused proposal undoes itself, not the others.
            with session.begin_nested():
                entry = watch.propose(
                    agreement_id,
                    decision.person_id,
                    decision.id,
                    "DEMO-EVIDENCE",
                    world.principal("caseworker"),
                )
                watch.verify(entry.id, world.principal("caseworker2"))
        except ShareguardError:
            continue
        person = session.get(Person, decision.person_id)
        name = person.primary_name() if person else None
        if person is None or name is None or rng.random() > 0.7:
            continue
        given, family = name.given, name.family
        if rng.random() < 0.2:
            given = _typo(rng, given)
        if rng.random() < 0.1:
            given, family = family, given
        rows.append(
            {
                "record_id": f"DVLA-{len(rows):06d}",
                "first_name": given,
                "surname": family,
                "date_of_birth": person.date_of_birth.isoformat(),
                "postcode": person.postcode or None,
            }
        )
    noise = generate(10, 2000, seed=world.seed, overlap=0.0).partner
    noise["record_id"] = [f"DVLA-N{i:06d}" for i in range(len(noise))]
    folder = get_settings().data_dir / "matching" / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dvla_licence_holders.csv"
    pd.concat([pd.DataFrame(rows), noise]).sample(frac=1, random_state=world.seed).to_csv(
        path, index=False
    )
    world.extra["match_demo"] = {"partner_file": str(path), "agreement": AGREEMENT}
    console.print(
        f"Match demo: shareguard match run --agreement {AGREEMENT} --watchlist current "
        f"--partner {path} --as caseworker@ho.demo.example",
        highlight=False,
    )

"""Corrections in a batch (``correct_many``, ``approve_many``) give what one at a time gives."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from shareguard.audit.models import AuditEntry
from shareguard.corrections import CorrectionService, NewCorrection
from shareguard.corrections.models import (
    Correction,
    NoticeDisclosure,
    PersonNotice,
    RectificationNotice,
)
from shareguard.errors import Conflict, NotFound
from shareguard.status.models import ImmigrationDecision
from tests import factories
from tests.corrections.scenario import build

REASON = "The record was keyed in error (test)"


def asks(world: Any, story: Any, other: Any) -> list[NewCorrection]:
    """Three corrections: the story's status record and decision (both reached three
    recipients, one of which acted on them) and another person's decision (shared with no
    one)."""
    cw = world.principals["caseworker"]
    return [
        NewCorrection(
            cw,
            target_kind="status_record",
            target_id=story.status.id,
            reason=REASON,
            evidence_ref="CARD-1",
            changes={"kind": "settled", "may_work": True, "may_rent": True},
        ),
        NewCorrection(
            cw,
            target_kind="decision",
            target_id=story.decision.id,
            reason=REASON,
            evidence_ref="CARD-1",
            changes={"overturned": True},
        ),
        NewCorrection(
            cw,
            target_kind="decision",
            target_id=other.id,
            reason=REASON,
            evidence_ref="CARD-2",
            changes={"overturned": True, "outcome": "withdrawn"},
        ),
    ]


def what_was_written(session: Any) -> dict[str, Any]:
    """Every row and audit entry a correction writes, without ids and times."""
    session.flush()
    audit = session.execute(
        select(AuditEntry.action, AuditEntry.agreement_id, AuditEntry.subject_ref).where(
            AuditEntry.action.like("correction.%")
        )
    ).all()
    return {
        "corrections": sorted(
            (str(c.target_id), c.state, c.lifts_adverse_action, c.approved_by is not None)
            for c in session.scalars(select(Correction))
        ),
        "notices": sorted(
            (
                str(n.organisation_id),
                len(n.disclosure_ids),
                tuple(n.disclosure_kinds),
                tuple(n.agreement_ids),
            )
            for n in session.scalars(select(RectificationNotice))
        ),
        "withdrawn": session.scalar(select(func.count()).select_from(NoticeDisclosure)),
        "person_notices": sorted(
            (str(p.person_id), p.recipients_notified, p.message)
            for p in session.scalars(select(PersonNotice))
        ),
        "decisions": sorted(
            (str(d.supersedes_id), d.overturned, d.outcome)
            for d in session.scalars(
                select(ImmigrationDecision).where(ImmigrationDecision.supersedes_id.is_not(None))
            )
        ),
        "audit": Counter((a.action, str(a.agreement_id), a.subject_ref) for a in audit),
    }


def test_a_batch_writes_what_one_at_a_time_writes(world) -> None:  # type: ignore[no-untyped-def]
    story = build(world)
    other_person = factories.person(world, "Berta", "Otherperson")
    other = factories.decision(world, other_person.id)
    s = world.session
    svc = CorrectionService(s)
    second = world.principals["caseworker2"]

    # All asked, then the waiting ones approved: in that order one at a time, the story's two
    # corrections both find the council's adverse action standing (approving the first at once
    # would withdraw it before the second is asked).
    made = [
        svc.correct(
            item.principal,
            target_kind=item.target_kind,
            target_id=item.target_id,
            reason=item.reason,
            evidence_ref=item.evidence_ref,
            changes=item.changes,
        )
        for item in asks(world, story, other)
    ]
    for c in made:
        if c.state == "pending_approval":
            svc.approve(c.id, second)
    one_at_a_time = what_was_written(s)
    s.rollback()

    made = svc.correct_many(asks(world, story, other))
    svc.approve_many([(c.id, second) for c in made if c.state == "pending_approval"])
    batch = what_was_written(s)

    assert batch == one_at_a_time
    # and the story is what a user would notice: both of its corrections waited for a second
    # caseworker (an adverse action stood on them) and told all three recipients; the other
    # person's applied at once and told no one
    assert [c.state for c in made] == ["applied"] * 3
    assert sorted(n for _, n, _ in batch["person_notices"]) == [0, 3, 3]
    assert batch["audit"][("correction.approve", "None", str(story.person.id))] == 2
    s.rollback()


def test_a_batch_with_one_item_at_fault_is_refused_whole(world) -> None:  # type: ignore[no-untyped-def]
    story = build(world)
    other_person = factories.person(world, "Berta", "Otherperson")
    other = factories.decision(world, other_person.id)
    s = world.session
    svc = CorrectionService(s)
    good = asks(world, story, other)
    missing = NewCorrection(
        world.principals["caseworker"],
        target_kind="decision",
        target_id=story.status.id,  # a status record's id is no decision
        reason=REASON,
        evidence_ref="X",
        changes={"overturned": True},
    )
    with pytest.raises(NotFound, match="immigration decision"):
        svc.correct_many([*good, missing])
    with pytest.raises(Conflict, match="awaiting approval"):
        svc.correct_many([good[2], good[2]])
    s.rollback()
    assert s.scalar(select(func.count()).select_from(Correction)) == 0
    assert (
        s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action.like("correction.%"))
        )
        == 0
    )

    made = svc.correct_many(good)
    pending = [c for c in made if c.state == "pending_approval"]
    with pytest.raises(Conflict, match="not waiting"):
        svc.approve_many([(pending[0].id, world.principals["caseworker2"])] * 2)

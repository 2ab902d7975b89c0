"""Demo: the shipped firewall rules and the real over-30 pause on proactive DVLA sharing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.policy.models import Pause
from shareguard.policy.schemas import PauseIn
from shareguard.policy.service import FirewallService, PauseService

OVER_30_TITLE = "No proactive sharing about people aged over 30"


def seed(session: Session, world: Any, fresh: bool) -> None:
    FirewallService(session).ensure_defaults()
    if session.scalar(select(Pause.id).where(Pause.title == OVER_30_TITLE)) is not None:
        return
    if "HO-DVLA-001" not in world.agreements:
        return
    pause = PauseService(session).create(
        PauseIn(
            title=OVER_30_TITLE,
            reason=(
                "People who came lawfully before 1973 may lack documents; proactive "
                "sharing with DVLA is paused for anyone aged over 30 while checks are reviewed"
            ),
            agreements=["HO-DVLA-001"],
            actions=["bulk_disclosure"],
            age_over=30,
            starts_at=datetime(2018, 11, 1, tzinfo=UTC),
        ),
        world.principal("officer"),
    )
    world.extra["over_30_pause"] = pause.id

"""Pauses in the API's shape (shared by the API and the CLI)."""

from __future__ import annotations

from shareguard.policy.models import Pause
from shareguard.policy.schemas import PauseOut
from shareguard.policy.service import in_force
from shareguard.storage.base import utcnow


def pause_out(p: Pause) -> PauseOut:
    out = PauseOut.model_validate(p)
    out.in_force = in_force(p, utcnow())
    return out

"""How a one-time code reaches the person: a sender chosen by configuration.

``SHAREGUARD_PERSON_CODE_SENDER`` names ``module:callable``; the callable is given the
settings and returns an object with ``send(person_id, code)`` (a deployment's adapter to
its text-message or notification service, which looks up the contact details itself).
Unset, demo mode shows the code on screen and every other mode refuses to sign people in.
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any, Protocol

from shareguard.config import Settings


class CodeSender(Protocol):
    def send(self, person_id: uuid.UUID, code: str) -> None:
        """Deliver ``code`` to the person; raise to refuse (nothing is shown on screen)."""


class Outbox:
    """A sender that keeps what it sent in memory: for tests and for trying a real route."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.sent: list[tuple[uuid.UUID, str]] = []

    def send(self, person_id: uuid.UUID, code: str) -> None:
        self.sent.append((person_id, code))

    def last(self, person_id: uuid.UUID | None = None) -> str:
        """The latest code sent (to ``person_id`` if given); LookupError if none."""
        for pid, code in reversed(self.sent):
            if person_id is None or pid == person_id:
                return code
        raise LookupError("no code sent")


def configured_sender(settings: Settings) -> CodeSender | None:
    """The sender ``settings`` name, or None when none is configured."""
    if not settings.person_code_sender:
        return None
    module, sep, name = settings.person_code_sender.partition(":")
    if not sep or not module or not name:
        raise ValueError("SHAREGUARD_PERSON_CODE_SENDER must be 'module:callable'")
    factory: Any = getattr(importlib.import_module(module), name)
    sender: CodeSender = factory(settings)
    return sender

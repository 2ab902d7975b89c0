"""Status register: persons, identities, decisions, status records and share codes."""

from shareguard.status.answer import StatusAnswer, status_answer
from shareguard.status.service import (
    SHARE_CODE_PURPOSES,
    PersonFacts,
    Standing,
    StatusService,
    subject_for,
    subjects_for,
)

__all__ = [
    "SHARE_CODE_PURPOSES",
    "PersonFacts",
    "Standing",
    "StatusAnswer",
    "StatusService",
    "status_answer",
    "subject_for",
    "subjects_for",
]

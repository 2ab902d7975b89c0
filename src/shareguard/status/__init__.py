"""Status register: persons, identities, decisions, status records and share codes."""

from shareguard.status.answer import StatusAnswer, status_answer
from shareguard.status.service import (
    SHARE_CODE_PURPOSES,
    PersonFacts,
    Standing,
    StatusService,
    share_code_digest,
    subject_for,
    subject_of,
    subjects_for,
)

__all__ = [
    "SHARE_CODE_PURPOSES",
    "PersonFacts",
    "Standing",
    "StatusAnswer",
    "StatusService",
    "share_code_digest",
    "status_answer",
    "subject_for",
    "subject_of",
    "subjects_for",
]

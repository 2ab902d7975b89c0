"""Status register: persons, identities, decisions, status records and share codes."""

from shareguard.status.service import SHARE_CODE_PURPOSES, StatusService, subject_for, subjects_for

__all__ = ["SHARE_CODE_PURPOSES", "StatusService", "subject_for", "subjects_for"]

"""Retention enforced per agreement: the resumable deletion run, legal holds, reports.

The rules themselves are agreement data (``shareguard.agreements.retention``). The audit log
is never touched (DESIGN.md invariant 8): after a run, "who checked my data" still lists every
entry and says "details deleted on DATE under the retention rule of AGREEMENT".
"""

from shareguard.audit.service import ENTRY_NOTES
from shareguard.retention.service import Plan, RetentionService, deletion_notes

__all__ = ["Plan", "RetentionService", "deletion_notes"]

ENTRY_NOTES.append(deletion_notes)

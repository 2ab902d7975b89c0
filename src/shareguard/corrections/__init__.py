"""Corrections: supersede a wrong record and send rectification notices to every recipient."""

from shareguard.corrections import webhooks
from shareguard.corrections.service import CorrectionService, disclosures_of, notice_payload

__all__ = ["CorrectionService", "disclosures_of", "notice_payload", "webhooks"]

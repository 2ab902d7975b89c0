"""Corrections: supersede a wrong record and send rectification notices to every recipient."""

from shareguard.corrections import webhooks
from shareguard.corrections.deliveries import WebhookService
from shareguard.corrections.notices import NoticeService, notice_payload
from shareguard.corrections.service import CorrectionService, disclosures_of

__all__ = [
    "CorrectionService",
    "NoticeService",
    "WebhookService",
    "disclosures_of",
    "notice_payload",
    "webhooks",
]

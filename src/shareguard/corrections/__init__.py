"""Corrections: supersede a wrong record and send rectification notices to every recipient.

Each name loads its module on first use (``shareguard.faces.lazy``): importing the models
(as reports do) does not import httpx for the webhooks.
"""

from typing import TYPE_CHECKING

from shareguard.faces import lazy

if TYPE_CHECKING:
    from shareguard.corrections import webhooks
    from shareguard.corrections.deliveries import WebhookService
    from shareguard.corrections.notices import NoticeService, notice_payload
    from shareguard.corrections.service import CorrectionService, NewCorrection, disclosures_of

__all__ = [
    "CorrectionService",
    "NewCorrection",
    "NoticeService",
    "WebhookService",
    "disclosures_of",
    "notice_payload",
    "webhooks",
]

__getattr__ = lazy(
    __name__,
    {
        "CorrectionService": "service",
        "NewCorrection": "service",
        "NoticeService": "notices",
        "WebhookService": "deliveries",
        "disclosures_of": "service",
        "notice_payload": "notices",
        "webhooks": "webhooks",
    },
)

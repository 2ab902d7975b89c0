"""Signing in: the person's one-time codes, kept server-side, and how a code reaches them.

A code is stored only as a keyed hash with its attempt counter, beside the person it was
sent to; the browser holds nothing but the challenge's id. Codes are delivered through the
configured sender (``SHAREGUARD_PERSON_CODE_SENDER``); only demo mode shows one on screen.
"""

from shareguard.signin.delivery import CodeSender, Outbox, configured_sender
from shareguard.signin.service import (
    CODE_SECONDS,
    CODE_TRIES,
    CodeResult,
    SignInService,
    Verified,
)

__all__ = [
    "CODE_SECONDS",
    "CODE_TRIES",
    "CodeResult",
    "CodeSender",
    "Outbox",
    "SignInService",
    "Verified",
    "configured_sender",
]

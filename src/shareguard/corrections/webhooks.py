"""Webhook signing and the retry schedule: pure functions, no I/O.

A recipient verifies a pushed notice by recomputing
``HMAC-SHA256(secret, f"{t}.{body}")`` and comparing it with the ``v1`` value of the
``Shareguard-Signature: t=<unix seconds>,v1=<hex>`` header, rejecting stale timestamps so a
captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

SIGNATURE_HEADER = "Shareguard-Signature"
#: Seconds a signature stays acceptable to a verifier (replay window).
DEFAULT_TOLERANCE = 300
#: Delays after the 1st, 2nd, ... failed attempt; then the delivery is given up.
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 8


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Shareguard-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def parse_header(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])`` from a header; raises ValueError if malformed."""
    timestamp: int | None = None
    sigs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise ValueError("signature header parts must be key=value")
        if key == "t":
            timestamp = int(value)
        elif key == "v1":
            sigs.append(value)
    if timestamp is None or not sigs:
        raise ValueError("signature header needs t= and v1=")
    return timestamp, sigs


def verify(
    secret: str, header: str, body: bytes, *, now: int, tolerance: int = DEFAULT_TOLERANCE
) -> bool:
    """True if ``header`` signs ``body`` under ``secret``, within ``tolerance`` s of ``now``."""
    try:
        timestamp, sigs = parse_header(header)
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in sigs)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failures: 30 s doubling, capped at 6 h."""
    if attempts < 1:
        return timedelta(0)
    return min(BASE_DELAY * (2 ** (attempts - 1)), MAX_DELAY)


def schedule(max_attempts: int = MAX_ATTEMPTS) -> list[timedelta]:
    """Every delay a delivery can wait, in order (``max_attempts - 1`` retries)."""
    return [backoff(n) for n in range(1, max_attempts)]

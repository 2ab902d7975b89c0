"""Share codes: generation, normalisation and hashing (pure apart from the random source)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: No look-alikes: no 0/O/D, 1/I/L, 2/Z, 5/S, 8/B, U/V.
ALPHABET = "ACEFGHJKMNPQRTWXY34679"
LENGTH = 9


def generate() -> str:
    """A new code: 9 characters, log2(22^9) ≈ 40 bits."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    """``ABC DEF GHJ`` — how the person reads it out."""
    return " ".join(code[i : i + 3] for i in range(0, len(code), 3))


def parse(text: str) -> str | None:
    """The canonical code from what a checker typed (spaces, hyphens, case ignored), or None."""
    code = "".join(ch for ch in (text or "").upper() if ch not in " -")
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def code_hash(code: str, secret: str) -> str:
    """HMAC-SHA-256 of the code under the server secret, hex.

    A fast keyed hash rather than a slow password hash, on purpose: the lookup must be an
    indexed equality (so no per-row salt), codes expire within 90 days, and guessing is
    stopped online by the per-organisation and per-code failure limits. Offline guessing
    from a stolen database is stopped by the key, which does not live in the database.
    """
    return hmac.new(secret.encode(), code.encode(), hashlib.sha256).hexdigest()

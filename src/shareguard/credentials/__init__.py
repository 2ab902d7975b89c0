"""Offline-verifiable status credentials (W3C VC 2.0 as an Ed25519 JWS) and the person's locks.

``format`` is pure (verification needs only the public key); ``service`` issues through the one
door, revokes, publishes the signed revocation list and verifies online (audited).
"""

from shareguard.credentials.format import (
    RevocationList,
    Verification,
    load_public_key,
    read_revocation_list,
    verify,
)

__all__ = ["RevocationList", "Verification", "load_public_key", "read_revocation_list", "verify"]

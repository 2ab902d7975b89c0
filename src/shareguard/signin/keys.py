"""shareguard's own OpenID client keys: RSA key pairs in ``Settings.key_dir``, one per provider.

Each key signs the client assertions (``private_key_jwt``) shareguard sends to a provider's
token endpoint. Like the audit and credential keys it is created on first use (PKCS#8 PEM,
mode 0600, never replaced); only its public half leaves this module's callers, served at
``/.well-known/jwks.json`` and printed by ``shareguard signin client-key`` for registration.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

#: The two clients shareguard registers: with the person's provider and with the staff's.
CLIENTS = ("person", "staff")
#: RS256 is what every provider accepts for private_key_jwt (One Login, Entra ID, Okta, ...).
ALG = "RS256"


def key_path(key_dir: Path, client: str) -> Path:
    if client not in CLIENTS:
        raise ValueError(f"unknown OpenID client {client!r}")
    return key_dir / f"oidc-{client}-client-rsa.pem"


def client_key(key_dir: Path, client: str) -> RSAKey:
    """The private key of ``client`` (``person`` or ``staff``), created if there is none.

    Safe when two processes start at once: the file is created exclusively, and the loser of
    the race reads the winner's key. Its ``kid`` is its RFC 7638 thumbprint.
    """
    path = key_path(key_dir, client)
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = RSAKey.generate_key(2048, private=True).as_pem(private=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # atomic, and never replaces a key that exists
        finally:
            tmp.unlink(missing_ok=True)
    key = RSAKey.import_key(path.read_bytes())
    key.ensure_kid()
    return RSAKey.import_key(key.as_dict(private=True), {"use": "sig", "alg": ALG})


def public_jwk(key_dir: Path, client: str) -> dict[str, Any]:
    """The public JWK of ``client``'s key (with ``kid``, ``use`` and ``alg``)."""
    return dict(client_key(key_dir, client).as_dict(private=False))


def public_pem(key_dir: Path, client: str) -> str:
    """The public key as PEM, the form GOV.UK One Login's registration asks for."""
    return client_key(key_dir, client).as_pem(private=False).decode()


def public_jwks(key_dir: Path, clients: tuple[str, ...] = CLIENTS) -> dict[str, Any]:
    """A JWKS of the public keys of ``clients`` (for a provider that reads a ``jwks_uri``)."""
    keys = KeySet([client_key(key_dir, c) for c in clients])
    return dict(keys.as_dict(private=False))

"""The credential issuing key: Ed25519, in ``Settings.key_dir``, apart from the audit key.

It is a different key from the audit log's checkpoint key on purpose: a checker who holds the
issuing key's public half learns nothing about the log, and either key can be rotated alone.
Created on first use with mode 0600; the private half never leaves this module's callers.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from joserfc.jwk import OKPKey

FILENAME = "credential-issuing-ed25519.pem"


def key_path(key_dir: Path) -> Path:
    return key_dir / FILENAME


def issuing_key(key_dir: Path) -> OKPKey:
    """The private issuing key, created (PKCS#8 PEM, mode 0600) if there is none yet.

    Safe when two processes start at once: the file is created exclusively, and the loser of
    the race reads the winner's key.
    """
    path = key_path(key_dir)
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = OKPKey.generate_key("Ed25519").as_pem(private=True)
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
    return OKPKey.import_key(path.read_bytes())


def public_key(key_dir: Path) -> OKPKey:
    """The public half of the issuing key (creating the key pair on first use)."""
    return OKPKey.import_key(issuing_key(key_dir).as_dict(private=False))

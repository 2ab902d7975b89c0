"""Ed25519 checkpoint signing in the C2SP signed-note format (c2sp.org/signed-note).

A checkpoint is a note whose text is ``origin``, ``tree size``, ``base64(root hash)`` and one
extension line with the signing time, each ending in a newline; then a blank line and one
signature line ``— <key name> base64(key id ‖ signature)``. The key id is the first four
bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key), 0x01 naming Ed25519. The key pair is
kept in a file outside the database, in the note private-key encoding, readable only by its
owner (mode 0600); the public half is shared as a note verifier key
``<name>+<hex key id>+base64(0x01 ‖ public key)``, the form Go's ``golang.org/x/mod/sumdb/note``
and the transparency-dev tools read.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from shareguard.errors import ShareguardError

ALG_ED25519 = 0x01
KEY_FILE = "audit-ed25519.key"
EM_DASH = "\u2014"


class SignatureInvalid(ShareguardError):
    status = 422
    title = "Signature invalid"
    slug = "signature-invalid"


def key_id(name: str, public_key: bytes) -> bytes:
    """Signed-note key id: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


@dataclass(frozen=True)
class Verifier:
    """A note verifier key: checks signatures by one named Ed25519 key."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        raw = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{raw}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Read ``<name>+<hex id>+<base64(0x01 ‖ key)>``; raises SignatureInvalid if malformed."""
        try:
            name, hex_id, raw_b64 = vkey.strip().split("+", 2)
            raw = base64.b64decode(raw_b64, validate=True)
            kid = bytes.fromhex(hex_id)
        except (ValueError, binascii.Error):
            raise SignatureInvalid("not a note verifier key (name+keyid+base64)") from None
        if not _valid_name(name) or len(raw) != 33 or raw[0] != ALG_ED25519:
            raise SignatureInvalid("not an Ed25519 note verifier key")
        verifier = cls(name, raw[1:])
        if verifier.key_id != kid:
            raise SignatureInvalid("verifier key id does not match its name and key")
        return verifier

    def verify(self, note: str) -> str:
        """Check ``note`` carries a valid signature by this key; returns the signed text.

        Signatures by other keys are ignored, as the signed-note spec requires.
        """
        text, sep, sigs = note.rpartition("\n\n")
        if not sep or not sigs.endswith("\n"):
            raise SignatureInvalid("malformed note: no blank line before the signatures")
        text += "\n"
        for line in sigs[:-1].split("\n"):
            prefix = f"{EM_DASH} {self.name} "
            if not line.startswith(prefix):
                continue
            try:
                blob = base64.b64decode(line[len(prefix) :], validate=True)
            except binascii.Error:
                continue
            if len(blob) != 4 + 64 or blob[:4] != self.key_id:
                continue
            try:
                Ed25519PublicKey.from_public_bytes(self.public_key).verify(blob[4:], text.encode())
            except InvalidSignature:
                raise SignatureInvalid(f"the signature by {self.name} does not verify") from None
            return text
        raise SignatureInvalid(f"no signature by key {self.name} ({self.key_id.hex()})")


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, raw)

    def sign(self, text: str) -> str:
        """The signed note for ``text`` (which must end in a newline)."""
        if not text.endswith("\n"):
            raise ValueError("note text must end with a newline")
        sig = self.private_key.sign(text.encode())
        blob = base64.b64encode(self.verifier.key_id + sig).decode()
        return f"{text}\n{EM_DASH} {self.name} {blob}\n"

    def encode(self) -> str:

        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        raw = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{raw}\n"

    @classmethod
    def decode(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise SignatureInvalid("not a note private key")
        raw = base64.b64decode(parts[4])
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise SignatureInvalid("not an Ed25519 note private key")
        return cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))


def load_or_create(key_dir: Path, name: str) -> Signer:
    """The log's signing key, created on first use as ``<key_dir>/audit-ed25519.key`` (0600).

    Safe against two processes starting at once: the file appears atomically, whole, once.
    """
    path = key_dir / KEY_FILE
    if not path.exists():
        if not _valid_name(name):
            raise ValueError("the log origin (key name) must have no spaces or '+'")
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        signer = Signer(name, Ed25519PrivateKey.generate())
        fd, tmp = tempfile.mkstemp(dir=key_dir, prefix=".key-")  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(signer.encode())
                f.flush()
                os.fsync(f.fileno())
            # Fails if another process won the race; then everyone uses theirs.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return Signer.decode(path.read_text())


# -- checkpoint bodies ---------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    @property
    def time(self) -> str | None:
        for line in self.extensions:
            if line.startswith("time "):
                return line[5:]
        return None

    def text(self) -> str:
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body (the signed text of the note); raises SignatureInvalid."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not ln for ln in lines[:-1]):
            raise SignatureInvalid("malformed checkpoint: needs origin, size and root lines")
        origin, size, root_b64, *ext = lines[:-1]
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise SignatureInvalid("malformed checkpoint: bad tree size")
        try:
            root = base64.b64decode(root_b64, validate=True)
        except binascii.Error:
            raise SignatureInvalid("malformed checkpoint: root hash is not base64") from None
        if len(root) != 32:
            raise SignatureInvalid("malformed checkpoint: root hash is not 32 bytes")
        return cls(origin, int(size), root, tuple(ext))


def sign_checkpoint(
    signer: Signer, origin: str, tree_size: int, root_hash: bytes, at: datetime
) -> str:
    """A signed checkpoint note; the signing time rides in one extension line."""
    stamp = at.isoformat(timespec="seconds").replace("+00:00", "Z")
    return signer.sign(Checkpoint(origin, tree_size, root_hash, (f"time {stamp}",)).text())


def open_checkpoint(verifier: Verifier, note: str) -> Checkpoint:
    """Verify the note's signature by ``verifier`` and parse its body."""
    return Checkpoint.parse(verifier.verify(note))

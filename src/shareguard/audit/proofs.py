"""Proof bundles: self-contained JSON an outside auditor checks with only the public key.

An inclusion bundle carries the entry itself (its canonical JSON document), the leaf index,
the audit path and the signed checkpoint the path leads to; a consistency bundle carries
two signed checkpoints and the proof between them. ``verify_bundle`` needs no database.
Hashes are base64, as in checkpoints.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from shareguard.audit import merkle
from shareguard.audit.log import canonical_json
from shareguard.audit.signing import Checkpoint, SignatureInvalid, Verifier, open_checkpoint
from shareguard.errors import ShareguardError

FORMAT = "shareguard-audit-proof/v1"


class ProofInvalid(ShareguardError):
    status = 422
    title = "Proof does not verify"
    slug = "proof-invalid"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: Any, what: str) -> bytes:
    try:
        if not isinstance(text, str):
            raise ValueError
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise ProofInvalid(f"{what} is not base64") from None


def inclusion_bundle(
    entry: dict[str, Any], tree_size: int, proof: list[bytes], checkpoint: str | None, root: bytes
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "type": "inclusion",
        "leaf_index": entry["seq"],
        "tree_size": tree_size,
        "entry": entry,
        "leaf_hash": b64(merkle.leaf_hash(canonical_json(entry))),
        "proof": [b64(p) for p in proof],
        "root_hash": b64(root),
        "checkpoint": checkpoint,
    }


def consistency_bundle(
    old_size: int,
    new_size: int,
    proof: list[bytes],
    old_checkpoint: str | None,
    new_checkpoint: str | None,
    old_root: bytes,
    new_root: bytes,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "type": "consistency",
        "old_size": old_size,
        "new_size": new_size,
        "proof": [b64(p) for p in proof],
        "old_root_hash": b64(old_root),
        "new_root_hash": b64(new_root),
        "old_checkpoint": old_checkpoint,
        "new_checkpoint": new_checkpoint,
    }


def _checkpoint(verifier: Verifier, note: Any, size: Any, what: str) -> Checkpoint:
    if not isinstance(note, str):
        raise ProofInvalid(f"the bundle has no signed {what}: it cannot be checked independently")
    try:
        cp = open_checkpoint(verifier, note)
    except SignatureInvalid as exc:
        raise ProofInvalid(f"{what}: {exc.detail}") from None
    if cp.tree_size != size:
        raise ProofInvalid(f"{what} is for tree size {cp.tree_size}, the proof for {size}")
    return cp


def verify_bundle(bundle: Any, verifier: Verifier) -> str:
    """Check a proof bundle against the log's public key; returns a one-line summary.

    Raises ProofInvalid naming what failed. Touches no database.
    """
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise ProofInvalid(f"not a {FORMAT} bundle")
    proof = [unb64(p, "a proof hash") for p in bundle.get("proof") or []]
    kind = bundle.get("type")
    if kind == "inclusion":
        size, index, entry = bundle.get("tree_size"), bundle.get("leaf_index"), bundle.get("entry")
        if not isinstance(size, int) or not isinstance(index, int) or not isinstance(entry, dict):
            raise ProofInvalid("inclusion bundle needs tree_size, leaf_index and entry")
        if entry.get("seq") != index:
            raise ProofInvalid(f"the entry is #{entry.get('seq')}, the proof is for #{index}")
        cp = _checkpoint(verifier, bundle.get("checkpoint"), size, "checkpoint")
        leaf = merkle.leaf_hash(canonical_json(entry))
        if not merkle.verify_inclusion(leaf, index, size, proof, cp.root_hash):
            raise ProofInvalid(f"entry #{index} is not in the signed tree of size {size}")
        return (
            f"OK: entry #{index} is included in {cp.origin} at tree size {size} (signed {cp.time})"
        )
    if kind == "consistency":
        old, new = bundle.get("old_size"), bundle.get("new_size")
        if not isinstance(old, int) or not isinstance(new, int):
            raise ProofInvalid("consistency bundle needs old_size and new_size")
        old_cp = _checkpoint(verifier, bundle.get("old_checkpoint"), old, "old checkpoint")
        new_cp = _checkpoint(verifier, bundle.get("new_checkpoint"), new, "new checkpoint")
        if not merkle.verify_consistency(old, new, old_cp.root_hash, new_cp.root_hash, proof):
            raise ProofInvalid(f"the tree of size {old} is not a prefix of the tree of size {new}")
        return f"OK: {new_cp.origin} at size {new} extends size {old} (append-only)"
    raise ProofInvalid("bundle type must be inclusion or consistency")

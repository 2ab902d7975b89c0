"""Pure RFC 9162 §2.1 Merkle tree functions: bytes in, bytes out, no I/O.

Hashing: leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right), the empty
tree's root is SHA-256 of the empty string. Indices are 0-based. The proof builders read
subtree hashes through a callback (``mth(start, end)``, the hash of leaves ``[start, end)``)
so that the stored log (``audit/log.py``) produces the very same proofs from stored subtree
hashes; the list-based functions here pass a callback that computes from the leaf list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: ``mth(start, end)``: the Merkle tree hash of leaves ``[start, end)``.
SubtreeHash = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash of one entry's bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle tree hash of the leaves (given as leaf hashes)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return _range_hash(leaf_hashes, 0, len(leaf_hashes))


def _range_hash(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    # Iterative over perfect subtrees from the left: O(n) hashing, no deep recursion.
    hashes = _perfect_hashes(leaves, start, end)
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _perfect_hashes(leaves: Sequence[bytes], start: int, end: int) -> list[bytes]:
    """Hashes of the maximal perfect subtrees that [start, end) decomposes into, left to right."""
    out = []
    for a, b in decompose(start, end):
        level = list(leaves[a:b])
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        out.append(level[0])
    return out


def decompose(start: int, end: int) -> list[tuple[int, int]]:
    """Split [start, end) as RFC 9162's MTH does into perfect subtrees, left to right.

    Valid for ranges that arise in MTH recursion (``start`` aligned to the split sizes).
    """
    out = []
    while start < end:
        n = end - start
        if n & (n - 1) == 0:
            out.append((start, end))
            break
        k = split_point(n)
        out.append((start, start + k))
        start += k
    return out


def _leaf_mth(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    return lambda a, b: _range_hash(leaf_hashes, a, b)


# -- proofs through a callback (shared with the stored log) -----------------------------
def inclusion_path(index: int, size: int, mth: SubtreeHash) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), reading subtree hashes through ``mth``."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(mth(start + k, end))
            end = start + k
        else:
            path.append(mth(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(old_size: int, new_size: int, mth: SubtreeHash) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]) through ``mth``."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"sizes out of order: {old_size} > {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    # SUBPROOF(m, D[start:end], b), unrolled; the path is built leaf-side last, so reverse.
    path: list[bytes] = []
    m, start, end, complete = old_size, 0, new_size, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                path.append(mth(start, end))
            break
        k = split_point(n)
        if m <= k:
            path.append(mth(start + k, end))
            end = start + k
        else:
            path.append(mth(start, start + k))
            start += k
            m -= k
            complete = False
    path.reverse()
    return path


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree of all ``leaf_hashes``."""
    return inclusion_path(index, len(leaf_hashes), _leaf_mth(leaf_hashes))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Consistency proof from the tree's first ``old_size`` leaves to all ``leaf_hashes``."""
    return consistency_path(old_size, len(leaf_hashes), _leaf_mth(leaf_hashes))


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) --------------------------------------
def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when ``proof`` shows ``leaf_hash`` at ``index`` in the tree with ``root``."""
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True when ``proof`` shows the tree of ``old_size`` is a prefix of the one of ``new_size``."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        # Every tree extends the empty tree; RFC 9162 proofs from size 0 are empty.
        return not proof
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "consistency_path",
    "consistency_proof",
    "decompose",
    "inclusion_path",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

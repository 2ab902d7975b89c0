"""The pure RFC 9162 functions against the published RFC 6962 test vectors, and properties.

Vectors: transparency-dev/merkle ``testonly/constants.go`` and ``proof/verify_test.go``
(the same data as google/certificate-transparency's C++ tests). Their leaf numbers are
1-based; ours are 0-based indices.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shareguard.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

LEAF_INPUTS = [
    h(x)
    for x in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
LEAVES = [leaf_hash(x) for x in LEAF_INPUTS]

#: Root hash by tree size (index 0 is the empty tree).
ROOTS = [
    h(x)
    for x in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]

#: Leaf hashes (level 0) and complete subtree hashes of the 8-leaf tree, by level.
NODES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]

#: (0-based leaf index, tree size, proof)
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

#: (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest() == ROOTS[0]


@pytest.mark.parametrize("level", range(4))
def test_leaf_and_subtree_hashes_match_the_vectors(level: int) -> None:
    width = 1 << level
    got = [root(LEAVES[i : i + width]) for i in range(0, 8, width)]
    assert [g.hex() for g in got] == NODES[level]


def test_node_hash_is_prefixed_with_one() -> None:
    assert node_hash(LEAVES[0], LEAVES[1]) == h(NODES[1][0])


@pytest.mark.parametrize("size", range(9))
def test_root_of_each_prefix_matches_the_vectors(size: int) -> None:
    assert root(LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_vectors(index: int, size: int, proof: list[str]) -> None:
    assert [p.hex() for p in inclusion_proof(LEAVES[:size], index)] == proof
    assert verify_inclusion(LEAVES[index], index, size, [h(p) for p in proof], ROOTS[size])


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in INCLUSION if v[2]])
def test_corrupted_inclusion_proofs_fail(index: int, size: int, proof: list[str]) -> None:
    good = [h(p) for p in proof]
    leaf, rt = LEAVES[index], ROOTS[size]
    probes = [
        (leaf, index - 1, size, good, rt),
        (leaf, index + 1, size, good, rt),
        (leaf, index ^ 2, size, good, rt),
        (leaf, index, size * 2, good, rt),
        (leaf, index, size // 2, good, rt),
        (b"WrongLeaf", index, size, good, rt),
        (leaf, index, size, good, EMPTY_ROOT),
        (leaf, index, size, good, SOME_HASH),
        (leaf, index, size, [*good, b""], rt),
        (leaf, index, size, [*good, rt], rt),
        (leaf, index, size, [b"", *good], rt),
        (leaf, index, size, [rt, *good], rt),
        (leaf, index, size, good[:-1], rt),
    ]
    if len(good) > 1:
        probes.append((leaf, index, size, [good[0], SOME_HASH, *good[1:]], rt))
    for i in range(len(good)):
        flipped = list(good)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((leaf, index, size, flipped, rt))
    for probe in probes:
        assert not verify_inclusion(*probe), probe


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors(old: int, new: int, proof: list[str]) -> None:
    assert [p.hex() for p in consistency_proof(LEAVES[:new], old)] == proof
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], [h(p) for p in proof])


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY if v[2]])
def test_corrupted_consistency_proofs_fail(old: int, new: int, proof: list[str]) -> None:
    good = [h(p) for p in proof]
    r1, r2 = ROOTS[old], ROOTS[new]
    probes = [
        (old - 1, new, r1, r2, good),
        (old + 1, new, r1, r2, good),
        (old ^ 2, new, r1, r2, good),
        (old, new * 2, r1, r2, good),
        (old, new // 2, r1, r2, good),
        (old, new, b"WrongRoot", r2, good),
        (old, new, r1, b"WrongRoot", good),
        (old, new, r2, r1, good),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*good, b""]),
        (old, new, r1, r2, [*good, r1]),
        (old, new, r1, r2, [*good, r2]),
        (old, new, r1, r2, [b"", *good]),
        (old, new, r1, r2, [r1, *good]),
        (old, new, r1, r2, [r2, *good]),
        (old, new, r1, r2, [good[0], *good]),
        (old, new, r1, r2, good[:-1]),
    ]
    for i in range(len(good)):
        flipped = list(good)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((old, new, r1, r2, flipped))
    for probe in probes:
        assert not verify_consistency(*probe), probe


@pytest.mark.parametrize(
    ("old", "new", "r1", "r2", "proof", "ok"),
    [
        (0, 0, b"r1", b"r2", [], False),
        (1, 1, b"r1", b"r2", [], False),
        (0, 0, b"r1", b"r1", [], True),
        (0, 1, b"r1", b"r2", [], True),
        (1, 1, b"r2", b"r2", [], True),
        (1, 0, b"r1", b"r2", [], False),
        (2, 1, b"r1", b"r2", [], False),
        (1, 2, b"r1", b"r2", [], False),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    ],
)
def test_consistency_edge_cases(
    old: int, new: int, r1: bytes, r2: bytes, proof: list[bytes], ok: bool
) -> None:
    assert verify_consistency(old, new, r1, r2, proof) is ok


def test_inclusion_edge_cases() -> None:
    single = leaf_hash(b"data")
    assert verify_inclusion(single, 0, 1, [], single)
    assert not verify_inclusion(single, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], single)
    for index, size in [(0, 0), (1, 0), (2, 1)]:
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
    with pytest.raises(ValueError):
        inclusion_proof(LEAVES[:3], 3)


# -- properties -------------------------------------------------------------------------
def _leaves(n: int, salt: int) -> list[bytes]:
    return [leaf_hash(f"{salt}:{i}".encode()) for i in range(n)]


def _flip(p: bytes, bit: int) -> bytes:
    i = (bit // 8) % len(p)
    return p[:i] + bytes([p[i] ^ (1 << (bit % 8))]) + p[i + 1 :]


trees = st.integers(min_value=1, max_value=1000).flatmap(
    lambda n: st.tuples(
        st.just(n), st.integers(0, n - 1), st.integers(0, 2**16), st.integers(0, 255)
    )
)


@settings(max_examples=60, deadline=None)
@given(trees)
def test_every_inclusion_proof_verifies_and_any_damage_fails(
    case: tuple[int, int, int, int],
) -> None:
    n, index, salt, bit = case
    leaves = _leaves(n, salt)
    rt = root(leaves)
    proof = inclusion_proof(leaves, index)
    assert verify_inclusion(leaves[index], index, n, proof, rt)
    assert not verify_inclusion(_flip(leaves[index], bit), index, n, proof, rt)
    if n > 1:
        assert not verify_inclusion(leaves[index], (index + 1) % n, n, proof, rt)
    for wrong in (n + 1, 2 * n, n // 2):
        # A wrong size whose path has another shape can never verify (same-shaped sizes are
        # told apart by the root, which the signed checkpoint fixes).
        if index < wrong and len(inclusion_proof(_leaves(wrong, 0), index)) != len(proof):
            assert not verify_inclusion(leaves[index], index, wrong, proof, rt)
    if proof:
        k = bit % len(proof)
        damaged = [*proof[:k], _flip(proof[k], bit), *proof[k + 1 :]]
        assert not verify_inclusion(leaves[index], index, n, damaged, rt)
        assert not verify_inclusion(leaves[index], index, n, proof[:-1], rt)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=1000), st.integers(0, 2**16), st.integers(0, 255))
def test_every_consistency_proof_verifies_and_any_damage_fails(n: int, salt: int, bit: int) -> None:
    leaves = _leaves(n, salt)
    roots = [root(leaves[:m]) for m in range(n + 1)] if n <= 64 else None
    sizes = range(n + 1) if n <= 64 else sorted({0, 1, n // 3, n // 2, n - 1, n, (salt % n) + 1})
    rt = root(leaves)
    for m in sizes:
        old = roots[m] if roots else root(leaves[:m])
        proof = consistency_proof(leaves, m)
        assert verify_consistency(m, n, old, rt, proof), m
        if proof:
            k = bit % len(proof)
            damaged = [*proof[:k], _flip(proof[k], bit), *proof[k + 1 :]]
            assert not verify_consistency(m, n, old, rt, damaged)
            assert not verify_consistency(m, n, old, rt, proof[:-1])
            for m2, n2 in ((m, n + 1), (m, 2 * n), (m + 1, n), (m - 1, n), (m ^ 2, n)):
                if 0 < m2 <= n2 and (m2, n2) != (m, n):
                    shape = consistency_proof(_leaves(n2, 0), m2)
                    if len(shape) != len(proof):
                        assert not verify_consistency(m2, n2, old, rt, proof), (m2, n2)

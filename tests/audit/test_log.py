"""Proofs from stored subtree hashes equal the pure functions' proofs, at every size."""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry, AuditRecord, append, append_many, merkle
from shareguard.audit.log import StoredTree
from tests.factories import integrated


def _fill(session: Session, n: int) -> list[bytes]:
    # Mixed single appends and batches, as real callers do.
    i = 0
    while i < n:
        k = min(n - i, 1 + (i % 5))
        if k == 1:
            append(session, AuditRecord(action="t", details={"i": i}))
        else:
            append_many(session, [AuditRecord(action="t", details={"i": i + j}) for j in range(k)])
        session.commit()
        i += k
    integrated(session)
    return [
        bytes(h) for h in session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq))
    ]


def test_stored_root_and_proofs_equal_the_pure_functions(session: Session) -> None:
    leaves = _fill(session, 13)
    tree = StoredTree(session)
    assert tree.size() == 13
    for size in range(14):
        assert tree.root(size) == merkle.root(leaves[:size])
        for index in range(size):
            assert tree.inclusion_proof(index, size) == merkle.inclusion_proof(leaves[:size], index)
        for old in range(size + 1):
            assert tree.consistency_proof(old, size) == merkle.consistency_proof(leaves[:size], old)


def test_a_proof_costs_a_few_indexed_reads(session: Session) -> None:
    append_many(session, [AuditRecord(action="t", details={"i": i}) for i in range(300)])
    integrated(session)
    leaves = [
        bytes(h) for h in session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq))
    ]
    statements: list[str] = []
    bind = session.get_bind()
    engine = bind.engine if hasattr(bind, "engine") else bind

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        tree = StoredTree(session)
        inclusion = tree.inclusion_proof(137, 300)
        consistency = tree.consistency_proof(100, 300)
        rt = tree.root()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert inclusion == merkle.inclusion_proof(leaves, 137)
    assert consistency == merkle.consistency_proof(leaves, 100)
    assert rt == merkle.root(leaves)
    # size + at most two fetches per call (leaves, nodes)
    assert len(statements) <= 3 * 3

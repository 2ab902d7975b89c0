"""Appending to the audit log: inside the caller's transaction, gap-free under concurrency.

Appends write entries; their numbers come from the integrator after the caller commits, so
these tests integrate (``tests.factories.integrated``) before reading numbers.
"""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry, AuditRecord, append, append_many, merkle, payload_hash
from shareguard.audit.log import StoredTree, entry_bytes
from shareguard.storage.db import session_factory
from tests.factories import integrated


def _seqs(session: Session) -> list[int]:
    return list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))


def test_append_assigns_sequence_numbers_in_order_and_commits_with_the_caller(
    session: Session,
) -> None:
    org = uuid.uuid4()
    first = append(
        session,
        AuditRecord(
            action="check.share_code",
            actor_org_id=org,
            decision="permit",
            reasons=("agreement in force",),
            subject_ref="p-1",
        ),
    )
    second = append(session, AuditRecord(action="check.share_code", subject_ref="p-2"))
    assert integrated(session, [first, second]) == [0, 1]
    stored = session.get(AuditEntry, first.id)
    assert stored is not None and stored.seq == 0
    assert stored.actor_org_id == org and stored.reasons == ["agreement in force"]
    assert stored.leaf_hash == merkle.leaf_hash(entry_bytes(stored))


def test_a_rolled_back_caller_leaves_no_entry_and_no_gap(session: Session) -> None:
    append(session, AuditRecord(action="a"))
    session.commit()
    append(session, AuditRecord(action="never-happened"))
    session.rollback()
    later = append(session, AuditRecord(action="b"))
    assert integrated(session, [later]) == [1]
    assert _seqs(session) == [0, 1]
    assert session.scalar(select(AuditEntry.action).where(AuditEntry.seq == 1)) == "b"


def test_append_many_is_one_batch_with_consecutive_numbers(session: Session) -> None:
    append(session, AuditRecord(action="first"))
    batch = append_many(session, [AuditRecord(action="bulk", details={"i": i}) for i in range(10)])
    assert integrated(session, batch) == list(range(1, 11))
    leaves = list(session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq)))
    assert StoredTree(session).root() == merkle.root([bytes(h) for h in leaves])


def test_concurrent_writers_get_gap_free_unique_numbers(engine: Engine) -> None:
    factory = session_factory(engine)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with factory() as s:
                for i in range(8):
                    if i % 2:
                        append_many(
                            s,
                            [
                                AuditRecord(action=f"w{n}", details={"i": i, "j": j})
                                for j in range(3)
                            ],
                        )
                    else:
                        append(s, AuditRecord(action=f"w{n}", details={"i": i}))
                    s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with factory() as s:
        integrated(s)
        assert _seqs(s) == list(range(4 * (4 + 4 * 3)))
        leaves = [
            bytes(h) for h in s.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq))
        ]
        assert StoredTree(s).root() == merkle.root(leaves)


def test_payload_hash_is_stable_across_key_order_and_types() -> None:
    pid = uuid.uuid4()
    assert payload_hash({"a": 1, "b": str(pid)}) == payload_hash({"b": pid, "a": 1})
    assert payload_hash({"a": 1}) != payload_hash({"a": 2})
    assert len(payload_hash({})) == 64


def test_agreement_lifecycle_changes_are_audited(session: Session, world) -> None:
    agreement_id = world.agreement()
    integrated(session)
    rows = session.execute(
        select(AuditEntry.action, AuditEntry.actor_user_id)
        .where(AuditEntry.agreement_id == agreement_id)
        .order_by(AuditEntry.seq)
    ).all()
    assert [r.action for r in rows] == ["agreement.create", "agreement.activate"]
    assert rows[1].actor_user_id == world.users["officer2"]


def test_appends_stay_gap_free_when_this_process_guessed_the_size_wrong(
    session: Session,
) -> None:
    """The process's guess at the log's size only saves a query; the stored head decides."""
    from shareguard.audit import log

    append(session, AuditRecord(action="a"))
    integrated(session)
    append_many(session, [AuditRecord(action="never-happened")] * 3)
    session.rollback()
    log._next_size = 4  # ahead of the log, as after a batch that rolled back
    assert integrated(session, [append(session, AuditRecord(action="b"))]) == [1]
    log._next_size = 1  # behind, as when another process integrated meanwhile
    assert integrated(session, [append(session, AuditRecord(action="c"))]) == [2]
    log._next_size = None
    assert integrated(session, [append(session, AuditRecord(action="d"))]) == [3]
    assert _seqs(session) == [0, 1, 2, 3]
    leaves = list(session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq)))
    assert StoredTree(session).root() == merkle.root([bytes(h) for h in leaves])

"""Appending to the audit log: inside the caller's transaction, gap-free under concurrency."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry, AuditRecord, append, append_many, merkle, payload_hash
from shareguard.audit.log import StoredTree, entry_bytes
from shareguard.storage.db import session_factory


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
    assert (first.seq, second.seq) == (0, 1)
    session.commit()
    stored = session.get(AuditEntry, 0)
    assert stored is not None
    assert stored.actor_org_id == org and stored.reasons == ["agreement in force"]
    assert stored.leaf_hash == merkle.leaf_hash(entry_bytes(stored))


def test_a_rolled_back_caller_leaves_no_entry_and_no_gap(session: Session) -> None:
    append(session, AuditRecord(action="a"))
    session.commit()
    append(session, AuditRecord(action="never-happened"))
    session.rollback()
    later = append(session, AuditRecord(action="b"))
    session.commit()
    assert later.seq == 1
    assert _seqs(session) == [0, 1]
    assert session.scalar(select(AuditEntry.action).where(AuditEntry.seq == 1)) == "b"


def test_append_many_is_one_batch_with_consecutive_numbers(session: Session) -> None:
    append(session, AuditRecord(action="first"))
    batch = append_many(session, [AuditRecord(action="bulk", details={"i": i}) for i in range(10)])
    session.commit()
    assert [e.seq for e in batch] == list(range(1, 11))
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
    session.commit()
    append_many(session, [AuditRecord(action="never-happened")] * 3)
    session.rollback()  # the guess is now ahead of the log
    assert append(session, AuditRecord(action="b")).seq == 1
    session.commit()
    log._next_size = 1  # behind, as when another process appended meanwhile
    assert append(session, AuditRecord(action="c")).seq == 2
    session.commit()
    log._next_size = None
    assert append(session, AuditRecord(action="d")).seq == 3
    session.commit()
    assert _seqs(session) == [0, 1, 2, 3]
    leaves = list(session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq)))
    assert StoredTree(session).root() == merkle.root([bytes(h) for h in leaves])

"""Tampering with the stored log by direct SQL is caught by `verify`, which names the place."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shareguard.audit import AuditCheckpoint, AuditEntry, AuditRecord, append_many, log, merkle
from shareguard.audit.log import StoredTree, entry_bytes
from shareguard.audit.service import AuditService
from shareguard.audit.signing import load_or_create, sign_checkpoint
from shareguard.config import Settings


@pytest.fixture
def audit(session: Session, settings: Settings) -> AuditService:
    """A log of 20 entries with checkpoints at sizes 8 and 20."""
    svc = AuditService(session, settings)
    records = [
        AuditRecord(
            action="check.share_code",
            subject_ref=f"person-{i % 4}",
            decision="deny",
            details={"i": i},
        )
        for i in range(20)
    ]
    append_many(session, records[:8])
    session.commit()
    svc.checkpoint()
    append_many(session, records[8:])
    session.commit()
    svc.checkpoint()
    session.commit()  # the test is the boundary: services never commit
    return svc


def _sql(session: Session, statement: str, **params: object) -> None:
    session.execute(text(statement), params)
    session.commit()
    session.expire_all()


def _first(svc: AuditService) -> tuple[int | None, str]:
    report = svc.verify()
    assert not report.ok, "tampering went unnoticed"
    return report.problems[0].seq, report.problems[0].message


def test_an_untouched_log_verifies(audit: AuditService) -> None:
    report = audit.verify()
    assert report.ok, report.problems
    assert (report.entries, report.checkpoints) == (20, 2)
    assert report.root == StoredTree(audit.session).root()


def test_an_entry_edited_by_sql_is_named(audit: AuditService) -> None:
    _sql(audit.session, "UPDATE audit_entries SET decision = 'permit' WHERE seq = 5")
    seq, message = _first(audit)
    assert seq == 5 and "changed" in message


def test_an_entry_edited_with_its_leaf_hash_recomputed_is_caught(audit: AuditService) -> None:
    entry = log.entry(audit.session, 13)
    entry.decision = "permit"
    forged = merkle.leaf_hash(entry_bytes(entry))
    audit.session.rollback()
    _sql(
        audit.session,
        "UPDATE audit_entries SET decision = 'permit', leaf_hash = :h WHERE seq = 13",
        h=forged,
    )
    seq, message = _first(audit)
    assert seq == 12 and "#12–#13" in message  # the smallest stored subtree holding entry 13


def test_a_deleted_entry_is_named(audit: AuditService) -> None:
    _sql(audit.session, "DELETE FROM audit_entries WHERE seq = 7")
    seq, message = _first(audit)
    assert seq == 7 and "missing" in message


def test_a_deleted_last_entry_is_named(audit: AuditService) -> None:
    _sql(audit.session, "DELETE FROM audit_entries WHERE seq = 19")
    seq, message = _first(audit)
    assert seq == 19 and "missing" in message


def test_two_swapped_entries_are_named(audit: AuditService) -> None:
    _sql(audit.session, "UPDATE audit_entries SET seq = -1 WHERE seq = 3")
    _sql(audit.session, "UPDATE audit_entries SET seq = 3 WHERE seq = 11")
    _sql(audit.session, "UPDATE audit_entries SET seq = 11 WHERE seq = -1")
    seq, message = _first(audit)
    assert seq == 3 and "changed" in message


def test_an_entry_inserted_outside_the_log_is_named(audit: AuditService) -> None:
    fake = AuditEntry(
        seq=20, at=datetime.now(UTC), action="check.share_code", reasons=[], details={}
    )
    fake.leaf_hash = merkle.leaf_hash(entry_bytes(fake))
    audit.session.add(fake)
    audit.session.commit()
    seq, message = _first(audit)
    assert seq == 20 and "outside" in message


def test_a_forged_checkpoint_is_named(audit: AuditService, tmp_path: Path) -> None:
    # Signed by some other key under the same name, claiming a different root.
    other = load_or_create(tmp_path / "other-keys", audit.signer.name)
    root = b"\x01" * 32
    note = sign_checkpoint(other, other.name, 20, root, datetime.now(UTC))
    audit.session.add(
        AuditCheckpoint(
            tree_size=20,
            root_hash=root,
            origin=other.name,
            key_id=other.verifier.key_id.hex(),
            note=note,
        )
    )
    audit.session.commit()
    report = audit.verify()
    assert not report.ok
    problem = report.problems[0]
    assert problem.checkpoint_id is not None and "tree size 20" in problem.message
    assert "forged" in problem.message


def test_a_checkpoint_whose_root_was_rewritten_is_named(audit: AuditService) -> None:
    first_cp = audit.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).first()
    assert first_cp is not None
    _sql(
        audit.session,
        "UPDATE audit_checkpoints SET root_hash = :r WHERE id = :i",
        r=b"\0" * 32,
        i=first_cp.id,
    )
    report = audit.verify()
    assert not report.ok and report.problems[0].checkpoint_id == first_cp.id


def test_entries_rewritten_wholesale_do_not_match_the_signed_checkpoint(
    audit: AuditService,
) -> None:
    # An attacker who recomputes every leaf and node still cannot re-sign the checkpoint.
    _sql(audit.session, "DELETE FROM audit_nodes")
    _sql(audit.session, "UPDATE audit_entries SET decision = 'permit' WHERE seq = 9")
    entries = list(audit.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    leaves = []
    for e in entries:
        e.leaf_hash = merkle.leaf_hash(entry_bytes(e))
        leaves.append(e.leaf_hash)
    audit.session.commit()
    from shareguard.audit.log import node_pos
    from shareguard.audit.models import AuditNode

    for level in range(1, 5):
        width = 1 << level
        for index in range(len(leaves) // width):
            audit.session.add(
                AuditNode(
                    pos=node_pos(level, index),
                    hash=merkle.root(leaves[index * width : (index + 1) * width]),
                )
            )
    audit.session.commit()
    seq, message = _first(audit)
    assert seq == 8 and "#8–#19" in message and "signed checkpoint" in message

"""Whole-log verification: recompute the tree from the entries and check every checkpoint.

Streams the entries in order, recomputing each leaf hash from the entry's content and every
complete subtree hash, and compares them with what is stored; at each checkpoint's size it
compares the recomputed root with the signed one, checks the signature and the consistency
proof from the previous checkpoint. It stops at the first problem and names the place.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.audit import merkle
from shareguard.audit.log import StoredTree, entry_bytes, node_pos, pending_count
from shareguard.audit.models import AuditCheckpoint, AuditEntry, AuditHead, AuditNode
from shareguard.audit.signing import SignatureInvalid, Verifier, open_checkpoint
from shareguard.errors import ShareguardError

CHUNK = 5000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Problem:
    #: The first bad sequence number, where one can be named.
    seq: int | None
    message: str
    checkpoint_id: int | None = None


@dataclass
class VerifyReport:
    entries: int = 0
    head_size: int = 0
    checkpoints: int = 0
    #: Entries written but not yet integrated (not part of the tree; not a problem).
    pending: int = 0
    root: bytes = merkle.EMPTY_ROOT
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Stop(Exception):
    pass


class _Verifier:
    def __init__(
        self, session: Session, verifier: Verifier | None, progress: Progress | None
    ) -> None:
        self.session = session
        self.key = verifier
        self.progress = progress
        self.report = VerifyReport()
        self.stack: list[bytes] = []
        self.prev: tuple[int, bytes] | None = None  # last good checkpoint (size, root)

    def fail(self, seq: int | None, message: str, checkpoint_id: int | None = None) -> None:
        self.report.problems.append(Problem(seq, message, checkpoint_id))
        raise _Stop

    def run(self) -> VerifyReport:
        head = self.session.scalar(select(AuditHead.size).where(AuditHead.id == 1))
        self.report.head_size = int(head or 0)
        cps = list(
            self.session.scalars(
                select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size, AuditCheckpoint.id)
            )
        )
        self.report.checkpoints = len(cps)
        self.report.pending = pending_count(self.session)
        self.pending = cps
        total = max(self.report.head_size, cps[-1].tree_size if cps else 0)
        try:
            self._checkpoints_at(0)
            expected = 0
            table = AuditEntry.__table__
            stmt = (
                select(table)
                .where(table.c.seq.is_not(None))
                .order_by(table.c.seq)
                .execution_options(yield_per=CHUNK)
            )
            chunk: list[Any] = []
            for entry in self.session.execute(stmt):
                if entry.seq != expected:
                    self.fail(expected, f"entry #{expected} is missing (deleted or moved)")
                expected += 1
                chunk.append(entry)
                if len(chunk) == CHUNK:
                    self._chunk(chunk)
                    chunk = []
                    if self.progress:
                        self.progress(expected, total)
            self._chunk(chunk)
            if self.progress:
                self.progress(expected, total)
            count = expected
            if count < self.report.head_size:
                self.fail(
                    count,
                    f"entry #{count} is missing: the log head records "
                    f"{self.report.head_size} entries, {count} are present",
                )
            if count > self.report.head_size:
                self.fail(
                    self.report.head_size,
                    f"entry #{self.report.head_size} was added outside the "
                    f"log: the log head records {self.report.head_size} entries",
                )
            if self.pending:
                cp = self.pending[0]
                self.fail(
                    count,
                    f"entry #{count} is missing: checkpoint {cp.id} was signed at "
                    f"size {cp.tree_size}",
                    cp.id,
                )
        except _Stop:
            pass
        return self.report

    def _chunk(self, entries: list[Any]) -> None:
        """Check a run of consecutive entries: leaves, completed subtrees, checkpoints."""
        if not entries:
            return
        completed: list[tuple[int, int, int, bytes]] = []  # (pos, first seq, last seq, hash)
        leaves: list[bytes] = []
        for entry in entries:
            leaf = merkle.leaf_hash(entry_bytes(entry))
            if entry.leaf_hash is None or leaf != bytes(entry.leaf_hash):
                self.fail(
                    entry.seq,
                    f"entry #{entry.seq} was changed: its content does not match "
                    "its leaf hash (edited, swapped or reordered)",
                )
            leaves.append(leaf)
        # Stored subtree hashes for this run, fetched in one query.
        seq0 = entries[0].seq
        stack = list(self.stack)
        for offset, leaf in enumerate(leaves):
            seq = seq0 + offset
            h, level, j = leaf, 0, seq
            while j & 1:
                h = merkle.node_hash(stack.pop(), h)
                level += 1
                j >>= 1
                completed.append((node_pos(level, j), j << level, ((j + 1) << level) - 1, h))
            stack.append(h)
        stored = self._stored_nodes([c[0] for c in completed])
        # Second pass in order, so checkpoints are checked exactly at their sizes.
        i = 0
        for offset, leaf in enumerate(leaves):
            seq = seq0 + offset
            h, j = leaf, seq
            while j & 1:
                h = merkle.node_hash(self.stack.pop(), h)
                j >>= 1
                pos, first, last, _ = completed[i]
                i += 1
                if stored.get(pos) != h:
                    self.fail(
                        first,
                        f"entries #{first}–#{last} do not match the stored tree hash "
                        f"(an entry and its leaf hash were rewritten, or a stored hash was)",
                    )
            self.stack.append(h)
            self.report.entries = seq + 1
            self._checkpoints_at(seq + 1)
        self.report.root = self._root()

    def _stored_nodes(self, positions: list[int]) -> dict[int, bytes]:
        out: dict[int, bytes] = {}
        for k in range(0, len(positions), 2000):
            part = positions[k : k + 2000]
            rows = self.session.execute(
                select(AuditNode.pos, AuditNode.hash).where(AuditNode.pos.in_(part))
            )
            out.update((pos, bytes(h)) for pos, h in rows)
        return out

    def _root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        acc = self.stack[-1]
        for h in reversed(self.stack[:-1]):
            acc = merkle.node_hash(h, acc)
        return acc

    def _checkpoints_at(self, size: int) -> None:
        while self.pending and self.pending[0].tree_size == size:
            cp = self.pending.pop(0)
            self._checkpoint(cp, size)

    def _checkpoint(self, cp: AuditCheckpoint, size: int) -> None:
        where = f"checkpoint {cp.id} (tree size {cp.tree_size})"
        if self.key is not None:
            try:
                signed = open_checkpoint(self.key, cp.note)
            except SignatureInvalid as exc:
                self.fail(None, f"{where}: {exc.detail} — forged or altered", cp.id)
            if signed.tree_size != cp.tree_size or signed.root_hash != bytes(cp.root_hash):
                self.fail(
                    None, f"{where}: the stored size or root differs from the signed note", cp.id
                )
        root = self._root()
        if root != bytes(cp.root_hash):
            first = self.prev[0] if self.prev else 0
            self.fail(first, f"entries #{first}–#{size - 1} do not match the signed {where}", cp.id)
        if self.prev is not None:
            old_size, old_root = self.prev
            proof = StoredTree(self.session).consistency_proof(old_size, size)
            if not merkle.verify_consistency(old_size, size, old_root, root, proof):
                self.fail(
                    old_size,
                    f"{where} is not consistent with the previous checkpoint at size {old_size}",
                    cp.id,
                )
        self.prev = (size, root)


def verify_log(
    session: Session, verifier: Verifier | None, progress: Progress | None = None
) -> VerifyReport:
    """Recompute and check the whole log. ``verifier`` None skips signature checks."""
    paused = gc.isenabled()  # streaming a long log allocates a lot and makes no cycles
    if paused:
        gc.disable()
    try:
        return _Verifier(session, verifier, progress).run()
    except ShareguardError as exc:  # e.g. stored hashes missing for a consistency proof
        report = VerifyReport()
        report.problems.append(Problem(None, exc.detail))
        return report
    finally:
        if paused:
            gc.enable()

"""The stored log: append (one entry or a group commit), the root and proofs from stored nodes.

Every complete aligned subtree's hash is stored the moment it completes (``audit_nodes``), so
the root, an inclusion proof and a consistency proof each need O(log n) stored hashes, read
in at most two indexed queries. The proof algorithms are the pure ones in ``merkle.py``,
reading through a callback; tests check both give identical proofs.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from shareguard.audit import merkle
from shareguard.audit.models import AuditEntry, AuditHead, AuditNode
from shareguard.errors import NotFound, ShareguardError
from shareguard.storage.base import utcnow

#: pg_advisory_xact_lock key serialising appends on PostgreSQL (ASCII "SGAUDIT").
PG_LOCK_KEY = 0x5347415544495400 >> 8
HEAD_ID = 1


class LogCorrupt(ShareguardError):
    """Stored hashes the log needs are missing: the database was changed outside the log."""

    status = 500
    title = "Audit log damaged"
    slug = "audit-log-damaged"


@dataclass(frozen=True)
class AuditRecord:
    """What a caller records; the log adds the sequence number, time and leaf hash."""

    action: str
    actor_org_id: uuid.UUID | None = None
    actor_user_id: uuid.UUID | None = None
    agreement_id: uuid.UUID | None = None
    purpose: str | None = None
    subject_ref: str | None = None
    decision: str | None = None
    reasons: tuple[str, ...] = ()
    payload_hash: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (uuid.UUID, bytes)) or hasattr(obj, "isoformat"):
        return obj.hex() if isinstance(obj, bytes) else str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return sorted(obj) if isinstance(obj, (set, frozenset)) else list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable in an audit entry")


def canonical_json(obj: Any, converted: list[bool] | None = None) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same object always gives the same bytes.

    Values JSON lacks (UUIDs, dates, sets) become strings or lists; ``converted`` (if given)
    gets an item appended when that happened.
    """

    def default(value: Any) -> Any:
        if converted is not None:
            converted.append(True)
        return _json_default(value)

    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
    ).encode()


def payload_hash(obj: Any) -> str:
    """Hex SHA-256 of the canonical JSON of a disclosed payload (UUIDs and dates as strings)."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def _s(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def entry_document(entry: Any) -> dict[str, Any]:
    """The entry as the JSON object its leaf hash covers (also what proofs hand to auditors).

    ``entry`` is an AuditEntry or a row of ``audit_entries`` (anything with its columns).
    """
    return {
        "v": 1,
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": entry.action,
        "actor_org_id": _s(entry.actor_org_id),
        "actor_user_id": _s(entry.actor_user_id),
        "agreement_id": _s(entry.agreement_id),
        "purpose": entry.purpose,
        "subject_ref": entry.subject_ref,
        "decision": entry.decision,
        "reasons": list(entry.reasons or []),
        "payload_hash": entry.payload_hash,
        "details": entry.details or {},
    }


def entry_bytes(entry: Any) -> bytes:
    """The bytes hashed into the leaf: the canonical JSON of ``entry_document``."""
    return canonical_json(entry_document(entry))


def node_pos(level: int, index: int) -> int:
    """In-order position of the perfect subtree of 2**level leaves numbered ``index``."""
    return (index << (level + 1)) + (1 << level) - 1


# -- appending ----------------------------------------------------------------------------
def lock(session: Session) -> None:
    """Serialise appenders: SQLite transactions already begin IMMEDIATE (storage/db.py)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(PG_LOCK_KEY)))


def _head_size(session: Session, *, create: bool = False) -> int:
    size = session.execute(select(AuditHead.size).where(AuditHead.id == HEAD_ID)).scalar()
    if size is None:
        if create:
            session.execute(insert(AuditHead).values(id=HEAD_ID, size=0))
        return 0
    return int(size)


def append(session: Session, record: AuditRecord) -> AuditEntry:
    """Append one entry, flushed in the caller's transaction (never commits).

    The sequence number is assigned under the log's write lock, so numbers are gap-free in
    commit order even with concurrent writers; the entry commits or rolls back with the
    caller's own changes.
    """
    return append_many(session, [record])[0]


def append_many(session: Session, records: Sequence[AuditRecord]) -> Sequence[AuditEntry]:
    """Append a batch in the caller's transaction: one lock, two bulk inserts (group commit)."""
    if not records:
        return []
    # A batch allocates a few objects per entry; in a process with a large heap (FastAPI,
    # SQLAlchemy, pydantic) the collections those allocations trigger cost more than the
    # whole append. Nothing here makes cycles, so pause the collector for the batch.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _append_many(session, records)
    finally:
        if paused:
            gc.enable()


#: This process's guess at the log's size when it next appends (what its last append left).
#: Only a guess: the size is always read under the lock; a wrong guess costs one more query.
_next_size: int | None = None


def _head_and_frontier(session: Session) -> tuple[int, list[bytes]]:
    """The log's size and right-edge hashes, read under the lock.

    With a guess at the size, one query reads the head and the frontier the guess implies;
    when the head disagrees (another process appended, a transaction rolled back) the
    frontier is read again for the real size.
    """
    guess = _next_size
    if guess:
        ranges = merkle.decompose(0, guess)
        got, size = _fetch(session, ranges, with_size=True)
        if size == guess:
            return size, [got[r] for r in ranges]
    size = _head_size(session, create=True)
    return size, _frontier(session, size)


class _NeedsDefault(Exception):
    """A value JSON lacks (UUID, date, set...): the entry takes the general path."""


def _refuse(value: Any) -> Any:
    raise _NeedsDefault


_JSON_STR = json.encoder.encode_basestring  # the C escaper json.dumps uses (ensure_ascii=False)


def _plain_json_encoder() -> Any:
    """``canonical_json`` for values JSON has, refusing the ones ``_json_default`` converts.

    Built once: ``json.dumps`` builds a new encoder (and the C encoder under it) every call,
    which costs more than encoding a small entry. The C encoder is the one ``json.dumps``
    uses for this configuration, so the text is the same; with no circular-reference
    markers (the C encoder leaves stale ones behind when ``default`` raises), a cyclic value
    fails with RecursionError instead of ValueError, before anything is written.
    """
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover - CPython always has _json
        return json.JSONEncoder(
            sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_refuse
        ).encode
    encode = c_make_encoder(None, _refuse, _JSON_STR, None, ":", ",", True, False, True)
    join = "".join

    def plain_json(value: Any) -> str:
        return join(encode(value, 0))

    return plain_json


_PLAIN_JSON = _plain_json_encoder()


def _text(value: Any) -> str:
    """JSON text of one field, as ``canonical_json`` writes it inside the entry document."""
    if type(value) is str:
        return _JSON_STR(value)
    if value is None:
        return "null"
    return _PLAIN_JSON(value)


def _general_texts(seq: int, at_text: str, record: AuditRecord) -> tuple[bytes, str, str]:
    """Leaf bytes and stored JSON texts for an entry holding values JSON lacks.

    Values JSON lacks (UUIDs, dates...) in details are stored as the strings that were
    hashed, so ``audit verify`` recomputes the same bytes from the stored row.
    """
    details = dict(record.details) if record.details else {}
    reasons = list(record.reasons)
    doc = {
        "v": 1,
        "seq": seq,
        "at": at_text,
        "action": record.action,
        "actor_org_id": _s(record.actor_org_id),
        "actor_user_id": _s(record.actor_user_id),
        "agreement_id": _s(record.agreement_id),
        "purpose": record.purpose,
        "subject_ref": record.subject_ref,
        "decision": record.decision,
        "reasons": reasons,
        "payload_hash": record.payload_hash,
        "details": details,
    }
    converted: list[bool] = []
    data = canonical_json(doc, converted)
    if converted:
        details = doc["details"] = json.loads(canonical_json(details))
        data = canonical_json(doc)
    return data, canonical_json(reasons).decode(), canonical_json(details).decode()


def _entry_texts(
    seq: int, at_text: str, at_json: str, record: AuditRecord, org: str, user: str, agreement: str
) -> tuple[bytes, str, str]:
    """The bytes the leaf hash covers and the JSON texts stored for reasons and details.

    ``org``, ``user`` and ``agreement`` are the JSON texts of the record's ids. The bytes are
    ``canonical_json`` of the entry document, assembled from its fields' JSON texts: JSON
    encoding composes (a sorted-key object is its keys and values' texts joined in key
    order), so the texts of ``reasons`` and ``details`` serve both the hash and the stored
    columns. The keys below are in sorted order; tests compare with ``json.dumps``.
    """
    try:
        reasons = record.reasons
        reasons_json = _PLAIN_JSON(reasons) if reasons else "[]"
        details = record.details
        details_json = (
            _PLAIN_JSON(details if type(details) is dict else dict(details)) if details else "{}"
        )
        s = _JSON_STR
        action, decision, payload = record.action, record.decision, record.payload_hash
        purpose, subject = record.purpose, record.subject_ref
        text = (
            f'{{"action":{s(action) if type(action) is str else _text(action)},'
            f'"actor_org_id":{org},"actor_user_id":{user},"agreement_id":{agreement},'
            f'"at":{at_json},'
            f'"decision":{s(decision) if type(decision) is str else _text(decision)},'
            f'"details":{details_json},'
            f'"payload_hash":{s(payload) if type(payload) is str else _text(payload)},'
            f'"purpose":{s(purpose) if type(purpose) is str else _text(purpose)},'
            f'"reasons":{reasons_json},"seq":{seq},'
            f'"subject_ref":{s(subject) if type(subject) is str else _text(subject)},"v":1}}'
        )
    except _NeedsDefault:
        return _general_texts(seq, at_text, record)
    return text.encode(), reasons_json, details_json


class _Ids(dict[Any, tuple[str, Any]]):
    """An id's JSON text (as hashed) and its bound value, converted once per batch."""

    def __init__(self, proc: Any) -> None:
        super().__init__({None: ("null", None)})
        self.proc = proc

    def __missing__(self, value: Any) -> tuple[str, Any]:
        got = self[value] = (
            _JSON_STR(str(value)),
            self.proc(value) if self.proc is not None else value,
        )
        return got


def _append_many(session: Session, records: Sequence[AuditRecord]) -> Sequence[AuditEntry]:
    global _next_size
    session.flush()  # the caller's pending rows first, so the lock is taken in a live transaction
    lock(session)
    size, stack = _head_and_frontier(session)
    conn = session.connection()
    entry_sql, procs = _insert_plan(conn, _ENTRIES)
    at = utcnow()
    at_text = at.isoformat(timespec="microseconds")
    at_json = _JSON_STR(at_text)
    at_bound = procs["at"](at) if "at" in procs else at
    # A batch repeats its organisation, user and agreement.
    ids = _Ids(procs.get("actor_org_id"))
    sha256 = hashlib.sha256
    rows: list[tuple[Any, ...]] = []
    nodes: list[tuple[int, bytes]] = []
    kept: list[tuple[int, AuditRecord, str, str, bytes]] = []
    for seq, record in enumerate(records, size):
        org, org_bound = ids[record.actor_org_id]
        user, user_bound = ids[record.actor_user_id]
        agreement, agreement_bound = ids[record.agreement_id]
        data, reasons_json, details_json = _entry_texts(
            seq, at_text, at_json, record, org, user, agreement
        )
        h = sha256(b"\x00" + data).digest()  # merkle.leaf_hash, inlined
        rows.append(
            (
                seq,
                at_bound,
                record.action,
                org_bound,
                user_bound,
                agreement_bound,
                record.purpose,
                record.subject_ref,
                record.decision,
                reasons_json,
                record.payload_hash,
                details_json,
                h,
            )
        )
        kept.append((seq, record, reasons_json, details_json, h))
        level, j = 0, seq
        while j & 1:
            h = sha256(b"\x01" + stack.pop() + h).digest()  # merkle.node_hash
            level += 1
            j >>= 1
            nodes.append((node_pos(level, j), h))
        stack.append(h)
    conn.exec_driver_sql(entry_sql, rows)
    if nodes:
        conn.exec_driver_sql(_insert_plan(conn, _NODES)[0], nodes)
    conn.execute(_SET_SIZE, {"size": size + len(records)})
    _next_size = size + len(records)
    return _Appended(at, kept)


# Core (the table, not the entity): the ORM's bulk-update path costs more than the append.
_HEAD: Any = AuditHead.__table__
_SET_SIZE = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(size=bindparam("size"))
_ENTRIES: Any = AuditEntry.__table__
_NODES: Any = AuditNode.__table__
#: The order ``_append_many`` builds each row's values in (the tables' column order).
_COLUMNS = {
    "audit_entries": (
        "seq",
        "at",
        "action",
        "actor_org_id",
        "actor_user_id",
        "agreement_id",
        "purpose",
        "subject_ref",
        "decision",
        "reasons",
        "payload_hash",
        "details",
        "leaf_hash",
    ),
    "audit_nodes": ("pos", "hash"),
}
#: Columns handed to the driver as JSON text we serialised (once, the text that was hashed)
#: instead of through SQLAlchemy's JSON bind processor, which would serialise them again.
#: Both SQLite and PostgreSQL's ``json`` (cast from the text) store that text as it is.
_AS_TEXT = {"reasons", "details"}
_INSERT_PLANS: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
_PYFORMAT = re.compile(r"%\((\w+)\)s")


def _insert_plan(conn: Any, table: Any) -> tuple[str, dict[str, Any]]:
    """Positional INSERT SQL for the driver's executemany and the columns' bind processors.

    Rows go to the driver as tuples in ``_COLUMNS`` order, skipping SQLAlchemy's per-row
    statement bookkeeping, which would otherwise cost more than hashing and writing the
    entry. PostgreSQL's named placeholders become positional ones (casts kept).
    """
    dialect = conn.dialect
    key = (table.name, f"{dialect.name}+{dialect.driver}")
    plan = _INSERT_PLANS.get(key)
    if plan is None:
        keys = _COLUMNS[table.name]
        assert keys == tuple(c.key for c in table.c), f"{table.name} columns changed"
        compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
        sql = str(compiled)
        if dialect.positional:
            order = tuple(compiled.positiontup or ())
        elif dialect.paramstyle == "pyformat":
            order = tuple(_PYFORMAT.findall(sql))
            sql = _PYFORMAT.sub("%s", sql)
        else:  # pragma: no cover - a driver we do not run on
            raise NotImplementedError(f"paramstyle {dialect.paramstyle}")
        assert order == keys, f"unexpected placeholder order in {sql}"
        procs = {}
        for k in keys:
            proc = table.c[k].type._cached_bind_processor(dialect)
            if proc is not None and k not in _AS_TEXT:
                procs[k] = proc
        plan = _INSERT_PLANS[key] = (sql, procs)
    return plan


class _Appended(Sequence[AuditEntry]):
    """The appended entries, each built on first use: many callers never look at them."""

    def __init__(self, at: datetime, kept: list[tuple[int, AuditRecord, str, str, bytes]]):
        self._at = at
        self._kept = kept
        self._built: dict[int, AuditEntry] = {}

    def __len__(self) -> int:
        return len(self._kept)

    @overload
    def __getitem__(self, index: int) -> AuditEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[AuditEntry]: ...
    def __getitem__(self, index: int | slice) -> AuditEntry | list[AuditEntry]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._kept)))]
        if index < 0:
            index += len(self._kept)
        got = self._built.get(index)
        if got is None:
            got = self._built[index] = _detached(self._at, *self._kept[index])
        return got

    def __iter__(self) -> Iterator[AuditEntry]:
        return (self[i] for i in range(len(self._kept)))


def _detached(
    at: datetime, seq: int, record: AuditRecord, reasons: str, details: str, leaf_hash: bytes
) -> AuditEntry:
    """A detached snapshot of a stored entry, loaded as if read back, built cheaply.

    Adding it to a session later makes it persistent without a second INSERT.
    """
    entry: AuditEntry = AuditEntry._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    entry.__dict__.update(
        seq=seq,
        at=at,
        action=record.action,
        actor_org_id=record.actor_org_id,
        actor_user_id=record.actor_user_id,
        agreement_id=record.agreement_id,
        purpose=record.purpose,
        subject_ref=record.subject_ref,
        decision=record.decision,
        reasons=json.loads(reasons),
        payload_hash=record.payload_hash,
        details=json.loads(details),
        leaf_hash=leaf_hash,
    )
    instance_state(entry).key = (AuditEntry, (seq,), None)
    return entry


def _frontier(session: Session, size: int) -> list[bytes]:
    """Hashes of the perfect subtrees along the tree's right edge, largest first."""
    ranges = merkle.decompose(0, size)
    got, _ = _fetch(session, ranges)
    return [got[r] for r in ranges]


def _fetch(
    session: Session, ranges: Iterable[tuple[int, int]], *, with_size: bool = False
) -> tuple[dict[tuple[int, int], bytes], int | None]:
    """Stored hashes of perfect subtrees ``[a, b)`` (leaves from entries, the rest from nodes).

    One round trip of plain driver SQL (the keys are ints we computed, rendered inline): an
    ORM query per proof would cost ten times the lookups themselves. ``with_size`` adds the
    log head's size to the same query.
    """
    leaves: dict[int, tuple[int, int]] = {}
    positions: dict[int, tuple[int, int]] = {}
    for a, b in set(ranges):
        width = b - a
        if width == 1:
            leaves[a] = (a, b)
        else:
            level = width.bit_length() - 1
            positions[node_pos(level, a >> level)] = (a, b)
    parts = []
    if leaves:
        keys = ",".join(str(int(k)) for k in leaves)
        parts.append(f"SELECT 0, seq, leaf_hash FROM audit_entries WHERE seq IN ({keys})")
    if positions:
        keys = ",".join(str(int(k)) for k in positions)
        parts.append(f"SELECT 1, pos, hash FROM audit_nodes WHERE pos IN ({keys})")
    if with_size:
        parts.append(f"SELECT 2, size, NULL FROM audit_head WHERE id = {HEAD_ID}")
    out: dict[tuple[int, int], bytes] = {}
    size: int | None = 0 if with_size else None
    if parts:
        for kind, key, h in session.connection().exec_driver_sql(" UNION ALL ".join(parts)):
            if kind == 0:
                out[leaves[key]] = bytes(h)
            elif kind == 1:
                out[positions[key]] = bytes(h)
            else:
                size = int(key)
    missing = [r for r in (*leaves.values(), *positions.values()) if r not in out]
    if missing and (size is None or max(b for _, b in missing) <= size):
        a, b = min(missing)
        raise LogCorrupt(
            f"stored hash for entries #{a}..#{b - 1} is missing; run `shareguard audit verify`"
        )
    return out, size


# -- reading: size, root, proofs -----------------------------------------------------------
class StoredTree:
    """The stored log seen as a Merkle tree; every method reads O(log n) hashes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def size(self) -> int:
        return _head_size(self.session)

    def _through_store(self, size: int, run: Any) -> list[bytes]:
        # Pass 1 records which perfect subtrees the algorithm needs; one fetch (with the log's
        # size, to refuse a tree larger than the log); pass 2 computes.
        wanted: list[tuple[int, int]] = []

        def record(a: int, b: int) -> bytes:
            wanted.extend(merkle.decompose(a, b))
            return b""

        run(record)
        got, current = _fetch(self.session, wanted, with_size=True)
        if current is not None and size > current:
            raise NotFound(f"the log has {current} entries, not {size}")

        def mth(a: int, b: int) -> bytes:
            hashes = [got[r] for r in merkle.decompose(a, b)]
            acc = hashes[-1]
            for h in reversed(hashes[:-1]):
                acc = merkle.node_hash(h, acc)
            return acc

        result: list[bytes] = run(mth)
        return result

    def root(self, size: int | None = None) -> bytes:
        """Root hash of the first ``size`` entries (default: all)."""
        size = self.size() if size is None else size
        if size == 0:
            return merkle.EMPTY_ROOT
        return self._through_store(size, lambda mth: [mth(0, size)])[0]

    def leaf_hash(self, seq: int) -> bytes:
        h = self.session.execute(select(AuditEntry.leaf_hash).where(AuditEntry.seq == seq)).scalar()
        if h is None:
            raise NotFound(f"audit entry #{seq} not found")
        return bytes(h)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Audit path for entry ``index`` in the tree of the first ``size`` entries."""
        if not 0 <= index < size:
            raise NotFound(f"entry #{index} is not in a tree of size {size}")
        return self._through_store(size, lambda mth: merkle.inclusion_path(index, size, mth))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Proof that the tree of ``old_size`` entries is a prefix of the one of ``new_size``."""
        if not 0 <= old_size <= new_size:
            raise NotFound(f"no consistency proof from size {old_size} to {new_size}")
        return self._through_store(
            new_size, lambda mth: merkle.consistency_path(old_size, new_size, mth)
        )


def entry(session: Session, seq: int) -> AuditEntry:
    found = session.get(AuditEntry, seq)
    if found is None:
        raise NotFound(f"audit entry #{seq} not found")
    return found


def tail(session: Session, limit: int = 20) -> list[AuditEntry]:
    """The newest ``limit`` entries, newest first."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    return list(session.scalars(stmt))

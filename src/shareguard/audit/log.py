"""The stored log: append, integrate, the root and proofs from stored nodes.

Appending writes the entry in the caller's transaction and takes no lock: it is durable with
what it records. The integrator (``integrate``; one at a time, see ``integrator.py``) later
gives committed entries their gap-free sequence numbers, in commit order, computes their leaf
hashes and extends the stored tree, in batches (Tessera's model: sequence, then integrate).

Every complete aligned subtree's hash is stored the moment it completes (``audit_nodes``), so
the root, an inclusion proof and a consistency proof each need O(log n) stored hashes, read
in at most two indexed queries. The proof algorithms are the pure ones in ``merkle.py``,
reading through a callback; tests check both give identical proofs.
"""

from __future__ import annotations

import gc
import hashlib
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.attributes import instance_state

from shareguard.audit import merkle
from shareguard.audit.models import AuditEntry, AuditHead, AuditNode
from shareguard.errors import NotFound, ShareguardError
from shareguard.storage.base import utcnow

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
def _head_size(session: Session, *, create: bool = False) -> int:
    size = session.execute(select(AuditHead.size).where(AuditHead.id == HEAD_ID)).scalar()
    if size is None:
        if create:
            session.execute(insert(AuditHead).values(id=HEAD_ID, size=0))
        return 0
    return int(size)


def append(session: Session, record: AuditRecord) -> AuditEntry:
    """Write one entry in the caller's transaction (flushed, never committed; no lock).

    The entry is durable when the caller commits and gone if it rolls back. ``entry.id``
    names it at once; its sequence number and leaf hash are given by the integrator after
    the caller's transaction has committed (``integrate``), so ``entry.seq`` is None here.
    """
    return append_many(session, [record])[0]


def append_fields(session: Session, **fields: Any) -> AuditEntry:
    """``append`` of a record given as its fields: the ``accounts.audit`` hook point's answer
    (capabilities.HOOKS), so accounts records its changes without importing this package."""
    return append(session, AuditRecord(**fields))


def append_many(session: Session, records: Sequence[AuditRecord]) -> Appended:
    """Write a batch of entries in the caller's transaction: one multi-row insert, no lock."""
    if not records:
        return Appended(utcnow(), [])
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


#: This process's guess at the log's size when it next integrates (what its last batch
#: left). Only a guess: the size is always read in the integrating transaction; a wrong
#: guess costs one more query.
_next_size: int | None = None


def _head_and_frontier(session: Session) -> tuple[int, list[bytes]]:
    """The log's size and right-edge hashes, read by the integrator holding its role.

    With a guess at the size, one query reads the head and the frontier the guess implies;
    when the head disagrees (another process integrated, a transaction rolled back) the
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


def _general_texts(seq: int, at_text: str, record: Any) -> tuple[bytes, str, str]:
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
    seq: int, at_text: str, at_json: str, record: Any, org: str, user: str, agreement: str
) -> tuple[bytes, str, str]:
    """The bytes the leaf hash covers and the JSON texts stored for reasons and details.

    ``record`` is an AuditRecord or a stored row; ``org``, ``user`` and ``agreement`` are the
    JSON texts of its ids. The bytes are ``canonical_json`` of the entry document, assembled
    from its fields' JSON texts: JSON encoding composes (a sorted-key object is its keys and
    values' texts joined in key order), so the texts of ``reasons`` and ``details`` serve
    both the hash and the stored columns. The keys below are in sorted order; tests compare
    with ``json.dumps``.
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


def _stored_texts(record: AuditRecord) -> tuple[str, str]:
    """The JSON texts stored for ``reasons`` and ``details``: what the leaf will hash.

    Canonical JSON, so the integrator (and ``audit verify``) reading them back and encoding
    them again get the same text.
    """
    try:
        reasons, details = record.reasons, record.details
        return (
            _PLAIN_JSON(reasons) if reasons else "[]",
            _PLAIN_JSON(details if type(details) is dict else dict(details)) if details else "{}",
        )
    except _NeedsDefault:
        _, reasons_json, details_json = _general_texts(0, "", record)
        return reasons_json, details_json


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


_id_lock = threading.Lock()
_id_last = 0
_id_random = random.SystemRandom()


def _entry_id() -> uuid.UUID:
    """A UUIDv7 for a new entry, increasing within this process (a 12-bit counter per ms).

    ``new_id`` would do, at four times the cost; the integrator orders PostgreSQL's pending
    entries by id, so ids that increase keep that order close to the order of writing.
    """
    global _id_last
    stamp = (time.time_ns() // 1_000_000) << 12
    with _id_lock:
        stamp = _id_last = stamp if stamp > _id_last else _id_last + 1
    return uuid.UUID(
        int=((stamp >> 12) << 80)
        | (0x7 << 76)
        | ((stamp & 0xFFF) << 64)
        | (0b10 << 62)
        | _id_random.getrandbits(62)
    )


def _append_many(session: Session, records: Sequence[AuditRecord]) -> Appended:
    conn = session.connection()
    entry_sql, procs = _insert_plan(conn, _ENTRIES, _APPEND_COLUMNS)
    at = utcnow()
    at_bound = procs["at"](at) if "at" in procs else at
    # A batch repeats its organisation, user and agreement.
    ids = _Ids(procs.get("actor_org_id"))
    id_proc = procs.get("id")
    rows: list[tuple[Any, ...]] = []
    kept: list[tuple[uuid.UUID, AuditRecord, str, str]] = []
    for record in records:
        entry_id = _entry_id()
        reasons_json, details_json = _stored_texts(record)
        rows.append(
            (
                id_proc(entry_id) if id_proc is not None else entry_id,
                at_bound,
                record.action,
                ids[record.actor_org_id][1],
                ids[record.actor_user_id][1],
                ids[record.agreement_id][1],
                record.purpose,
                record.subject_ref,
                record.decision,
                reasons_json,
                record.payload_hash,
                details_json,
            )
        )
        kept.append((entry_id, record, reasons_json, details_json))
    conn.exec_driver_sql(entry_sql, rows)
    return Appended(at, kept)


# -- integrating ----------------------------------------------------------------------------
#: pg_try_advisory_(xact_)lock key of the integrator role on PostgreSQL (ASCII "SGAUDIT").
PG_LOCK_KEY = 0x5347415544495400 >> 8
#: Pending entries read per query while integrating.
READ_CHUNK = 1024


class IntegrationConflict(ShareguardError):
    """Another integrator extended the log while this one worked: nothing was written."""

    status = 503
    title = "Audit log busy"
    slug = "audit-log-busy"


def take_role(session: Session) -> bool:
    """Claim the integrator role for the caller's transaction; False if another holds it.

    PostgreSQL: a transaction-level advisory lock (an integrator holding the session-level
    lock on this same connection has it already). SQLite: the database's write lock, taken
    before anything is read, by a write that changes nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        return bool(session.execute(select(func.pg_try_advisory_xact_lock(PG_LOCK_KEY))).scalar())
    session.connection().execute(_TOUCH_HEAD)
    return True


def integrate(session: Session, limit: int | None = None) -> int | None:
    """Give committed, pending entries their sequence numbers; extend the stored tree.

    Runs in the caller's transaction (the caller commits): numbers are given in commit order
    on SQLite (rowid order; one writer at a time) and in id order among the entries found
    committed on PostgreSQL, gap-free from the log's size. Each entry's leaf hash is computed
    from its stored row with its number, every subtree the batch completes is stored, and the
    log head moves from the size read to the new one only if nobody moved it meanwhile
    (IntegrationConflict otherwise). Returns how many entries were integrated (at most
    ``limit``), or None when another integrator holds the role.
    """
    global _next_size
    if not take_role(session):
        return None
    old_size, stack = _head_and_frontier(session)
    size = old_size
    while limit is None or size - old_size < limit:
        want = READ_CHUNK if limit is None else min(READ_CHUNK, limit - (size - old_size))
        rows = _pending_rows(session, want)
        if not rows:
            break
        size = _integrate_rows(session, rows, size, stack)
        if len(rows) < want:
            break
    if size == old_size:
        return 0
    moved = session.connection().execute(_MOVE_HEAD, {"old": old_size, "new": size})
    if moved.rowcount != 1:
        raise IntegrationConflict("another integrator extended the audit log meanwhile")
    _next_size = size
    return size - old_size


def pending_count(session: Session) -> int:
    """Entries written (committed, as this transaction sees) and not yet integrated."""
    return int(
        session.execute(
            select(func.count()).select_from(_ENTRIES).where(_ENTRIES.c.seq.is_(None))
        ).scalar()
        or 0
    )


#: The next pending entries, as the driver returns them: rowid (commit) order on SQLite, id
#: order on PostgreSQL; ``reasons`` and ``details`` as their stored JSON text.
_PENDING_SQL = {
    "sqlite": (
        "SELECT rowid, at, action, actor_org_id, actor_user_id, agreement_id, purpose, "
        "subject_ref, decision, reasons, payload_hash, details FROM audit_entries "
        "WHERE seq IS NULL ORDER BY rowid LIMIT ?"
    ),
    "postgresql": (
        "SELECT id, at, action, actor_org_id, actor_user_id, agreement_id, purpose, "
        "subject_ref, decision, reasons::text, payload_hash, details::text FROM audit_entries "
        "WHERE seq IS NULL ORDER BY id LIMIT %s"
    ),
}


def _pending_rows(session: Session, limit: int) -> list[tuple[Any, ...]]:
    """Up to ``limit`` pending entries as plain driver rows (no per-row result processing:
    at 256 entries a batch it would cost more than hashing them)."""
    conn = session.connection()
    return list(conn.exec_driver_sql(_PENDING_SQL[conn.dialect.name], (limit,)).all())


def _canonical_text(stored: str, empty: str) -> str:
    """A stored JSON text as ``canonical_json`` writes its value (what ``verify`` hashes)."""
    if stored == empty:
        return empty
    value = json.loads(stored)
    # ``entry_document`` reads a missing (or empty) value as the empty one, as here.
    return str(_PLAIN_JSON(value)) if value else empty


def _uuid_json_sqlite(value: str) -> str:
    """JSON text of a UUID stored by SQLite as 32 hex digits."""
    h = value.lower()
    return f'"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"'


def _at_json_sqlite(value: str) -> str:
    """JSON text of a stored time (SQLite keeps UTC as ``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    if len(value) == 26 and value[10] == " ":
        return f'"{value[:10]}T{value[11:]}+00:00"'
    at = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return _JSON_STR(at.isoformat(timespec="microseconds"))


def _integrate_rows(
    session: Session, rows: Sequence[tuple[Any, ...]], size: int, stack: list[bytes]
) -> int:
    """Number ``rows`` from ``size``, hash them into ``stack`` (the frontier), store it all.

    The leaf bytes are ``canonical_json(entry_document(row))`` with the new number, assembled
    from the fields' JSON texts as ``_entry_texts`` does (tests compare it with ``verify``).
    """
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    sha256 = hashlib.sha256
    s = _JSON_STR
    updates: list[tuple[Any, ...]] = []
    nodes: list[tuple[int, bytes]] = []
    ids: dict[Any, str] = {None: "null"}
    for seq, row in enumerate(rows, size):
        key, at, action, org, user, agreement, purpose, subject, decision = row[:9]
        reasons, payload, details = row[9:]
        texts = []
        for value in (org, user, agreement):
            text = ids.get(value)
            if text is None:
                text = ids[value] = _uuid_json_sqlite(value) if sqlite else f'"{value}"'
            texts.append(text)
        at_json = (
            _at_json_sqlite(at)
            if sqlite
            else s(at.astimezone(UTC).isoformat(timespec="microseconds"))
        )
        data = (
            f'{{"action":{s(action)},'
            f'"actor_org_id":{texts[0]},"actor_user_id":{texts[1]},"agreement_id":{texts[2]},'
            f'"at":{at_json},'
            f'"decision":{"null" if decision is None else s(decision)},'
            f'"details":{_canonical_text(details, "{}")},'
            f'"payload_hash":{"null" if payload is None else s(payload)},'
            f'"purpose":{"null" if purpose is None else s(purpose)},'
            f'"reasons":{_canonical_text(reasons, "[]")},"seq":{seq},'
            f'"subject_ref":{"null" if subject is None else s(subject)},"v":1}}'
        ).encode()
        h = sha256(b"\x00" + data).digest()  # merkle.leaf_hash, inlined
        updates.append((seq, h, key))
        level, j = 0, seq
        while j & 1:
            h = sha256(b"\x01" + stack.pop() + h).digest()  # merkle.node_hash
            level += 1
            j >>= 1
            nodes.append((node_pos(level, j), h))
        stack.append(h)
    done = conn.exec_driver_sql(_SET_SEQ_SQLITE if sqlite else _SET_SEQ_PG, updates)
    if done.rowcount != len(updates):
        raise IntegrationConflict("another integrator numbered these entries meanwhile")
    if nodes:
        conn.exec_driver_sql(_insert_plan(conn, _NODES, _COLUMNS["audit_nodes"])[0], nodes)
    return size + len(rows)


# Core (the table, not the entity): the ORM's bulk-update path costs more than the append.
_HEAD: Any = AuditHead.__table__
_TOUCH_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(size=_HEAD.c.size)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID, _HEAD.c.size == bindparam("old"))
    .values(size=bindparam("new"))
)
_ENTRIES: Any = AuditEntry.__table__
_NODES: Any = AuditNode.__table__
_SET_SEQ_SQLITE = "UPDATE audit_entries SET seq = ?, leaf_hash = ? WHERE rowid = ? AND seq IS NULL"
_SET_SEQ_PG = "UPDATE audit_entries SET seq = %s, leaf_hash = %s WHERE id = %s AND seq IS NULL"
#: The columns of the tables as the log writes them (``_append_many`` builds each entry's
#: values in this order; ``seq`` and ``leaf_hash`` are written by the integrator).
_COLUMNS = {
    "audit_entries": (
        "id",
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
_APPEND_COLUMNS = tuple(c for c in _COLUMNS["audit_entries"] if c not in ("seq", "leaf_hash"))
#: Columns handed to the driver as JSON text we serialised (once, the text that will be
#: hashed) instead of through SQLAlchemy's JSON bind processor, which would serialise them
#: again. Both SQLite and PostgreSQL's ``json`` (cast from the text) store that text as it is.
_AS_TEXT = {"reasons", "details"}
_INSERT_PLANS: dict[tuple[str, str, tuple[str, ...]], tuple[str, dict[str, Any]]] = {}
_PYFORMAT = re.compile(r"%\((\w+)\)s")


def _insert_plan(conn: Any, table: Any, keys: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """Positional INSERT SQL of ``keys`` for the driver's executemany, and their bind processors.

    Rows go to the driver as tuples in ``keys`` order, skipping SQLAlchemy's per-row
    statement bookkeeping, which would otherwise cost more than writing the entry.
    PostgreSQL's named placeholders become positional ones (casts kept).
    """
    dialect = conn.dialect
    plan_key = (table.name, f"{dialect.name}+{dialect.driver}", keys)
    plan = _INSERT_PLANS.get(plan_key)
    if plan is None:
        assert _COLUMNS[table.name] == tuple(c.key for c in table.c), f"{table.name} changed"
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
        plan = _INSERT_PLANS[plan_key] = (sql, procs)
    return plan


class Appended(Sequence[AuditEntry]):
    """The appended (pending) entries, each built on first use: many callers never look at
    them; ``ids`` gives their ids without building them."""

    def __init__(self, at: datetime, kept: list[tuple[uuid.UUID, AuditRecord, str, str]]):
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

    @property
    def ids(self) -> list[uuid.UUID]:
        """The entries' ids, without building the entries."""
        return [k[0] for k in self._kept]


def _detached(
    at: datetime, entry_id: uuid.UUID, record: AuditRecord, reasons: str, details: str
) -> AuditEntry:
    """A detached snapshot of a stored (pending) entry, loaded as if read back, built cheaply.

    Adding it to a session later makes it persistent without a second INSERT.
    """
    configure_mappers()  # a no-op once done; building instances by hand needs it done
    entry: AuditEntry = AuditEntry._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    entry.__dict__.update(
        id=entry_id,
        seq=None,
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
        leaf_hash=None,
    )
    instance_state(entry).key = (AuditEntry, (entry_id,), None)
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
    """The integrated entry numbered ``seq`` (NotFound if there is none yet)."""
    found = session.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).first()
    if found is None:
        raise NotFound(f"audit entry #{seq} not found")
    return found


def entry_by_id(session: Session, entry_id: uuid.UUID) -> AuditEntry:
    """An entry by its id, integrated or pending (NotFound if there is none)."""
    found = session.get(AuditEntry, entry_id)
    if found is None:
        raise NotFound(f"audit entry {entry_id} not found")
    return found


def tail(session: Session, limit: int = 20, *, pending: bool = False) -> list[AuditEntry]:
    """The newest ``limit`` integrated entries, newest first; with ``pending``, the entries
    still waiting for the integrator (newest first) before them."""
    out: list[AuditEntry] = []
    if pending:
        waiting = (
            select(AuditEntry)
            .where(AuditEntry.seq.is_(None))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
        out = list(session.scalars(waiting))
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.seq.is_not(None))
        .order_by(AuditEntry.seq.desc())
        .limit(limit - len(out))
    )
    return out + list(session.scalars(stmt)) if len(out) < limit else out


def page(
    session: Session, *, action: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """One page of the log, newest first (entries waiting for the integrator before the
    rest), and how many entries there are; ``action`` keeps those whose action starts so.

    Unfiltered, the total is the head's size plus the pending entries and a page of
    integrated entries is a range of sequence numbers: the cost does not grow with the log.
    """
    pending_q = select(AuditEntry).where(AuditEntry.seq.is_(None))
    pending_n = select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))
    done_q = select(AuditEntry).where(AuditEntry.seq.is_not(None))
    if action:
        # A range on the (action, agreement) index rather than LIKE, which SQLite cannot use.
        prefix = (AuditEntry.action >= action, AuditEntry.action < action + "\U0010ffff")
        pending_q, pending_n = pending_q.where(*prefix), pending_n.where(*prefix)
        done_q = done_q.where(*prefix)
    waiting = int(session.scalar(pending_n) or 0)
    if action:
        done_total = int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.seq.is_not(None), *prefix)
            )
            or 0
        )
    else:
        done_total = _head_size(session)
    out: list[AuditEntry] = []
    if offset < waiting:
        out = list(
            session.scalars(
                pending_q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
    rest = limit - len(out)
    skip = max(0, offset - waiting)
    if rest > 0 and skip < done_total:
        if action:
            stmt = done_q.order_by(AuditEntry.seq.desc()).limit(rest).offset(skip)
        else:
            top = done_total - 1 - skip
            stmt = done_q.where(AuditEntry.seq <= top, AuditEntry.seq > top - rest).order_by(
                AuditEntry.seq.desc()
            )
        out += list(session.scalars(stmt))
    return out, waiting + done_total

"""The bytes an entry's leaf hash covers: the fast append path writes exactly what
``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` always wrote,
and the JSON text it stores for ``reasons`` and ``details`` reads back to those same bytes
(what ``audit verify`` recomputes from the stored rows)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry, AuditRecord, append_many, merkle
from shareguard.audit.log import _entry_texts, entry_bytes
from tests.factories import integrated

AT = datetime(2026, 11, 24, 0, 30, 1, 123456, tzinfo=UTC)
AT_TEXT = AT.isoformat(timespec="microseconds")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, bytes)) or hasattr(value, "isoformat"):
        return value.hex() if isinstance(value, bytes) else str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(type(value).__name__)


def _dumps(obj: Any, converted: list[bool] | None = None) -> bytes:
    def default(value: Any) -> Any:
        if converted is not None:
            converted.append(True)
        return _default(value)

    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
    ).encode()


def reference_leaf_bytes(seq: int, record: AuditRecord) -> bytes:
    """The leaf bytes as the log computed them before the fast path (one json.dumps)."""

    def s(v: uuid.UUID | None) -> str | None:
        return None if v is None else str(v)

    details = dict(record.details) if record.details else {}
    doc = {
        "v": 1,
        "seq": seq,
        "at": AT_TEXT,
        "action": record.action,
        "actor_org_id": s(record.actor_org_id),
        "actor_user_id": s(record.actor_user_id),
        "agreement_id": s(record.agreement_id),
        "purpose": record.purpose,
        "subject_ref": record.subject_ref,
        "decision": record.decision,
        "reasons": list(record.reasons),
        "payload_hash": record.payload_hash,
        "details": details,
    }
    converted: list[bool] = []
    data = _dumps(doc, converted)
    if converted:  # details' UUIDs, dates... are stored (and hashed) as strings
        doc["details"] = json.loads(_dumps(details))
        data = _dumps(doc)
    return data


def fast_texts(seq: int, record: AuditRecord) -> tuple[bytes, str, str]:
    ids = [
        "null" if v is None else json.dumps(str(v), ensure_ascii=False)
        for v in (record.actor_org_id, record.actor_user_id, record.agreement_id)
    ]
    return _entry_texts(seq, AT_TEXT, json.dumps(AT_TEXT), record, *ids)


# Text with quotes, backslashes, control characters, non-ASCII and astral characters.
texts = st.text(
    alphabet=st.one_of(
        st.sampled_from('"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029é€😀'),
        st.characters(exclude_categories=["Cs"]),  # lone surrogates: see below
    ),
    max_size=12,
)
optional_text = st.none() | texts
ids = st.none() | st.uuids()
plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities too: json.dumps writes them, and so does the log
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
# What callers also hand the log in details: ids, times, sets, tuples, bytes.
converted = st.one_of(
    st.uuids(),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.frozensets(st.integers(), max_size=3),
    st.tuples(texts, st.integers()),
    st.binary(max_size=4),
)
details = st.dictionaries(texts, plain | converted, max_size=5)
records = st.builds(
    AuditRecord,
    action=texts,
    actor_org_id=ids,
    actor_user_id=ids,
    agreement_id=ids,
    purpose=optional_text,
    subject_ref=optional_text,
    decision=optional_text,
    reasons=st.lists(texts, max_size=3).map(tuple),
    payload_hash=optional_text,
    details=details,
)


@settings(max_examples=400, deadline=None)
@given(seq=st.integers(min_value=0, max_value=2**48), record=records)
def test_leaf_bytes_are_those_json_dumps_wrote(seq: int, record: AuditRecord) -> None:
    data, reasons_json, details_json = fast_texts(seq, record)
    assert data == reference_leaf_bytes(seq, record)
    # The stored texts read back to a row whose recomputed bytes are the hashed ones.
    row = SimpleNamespace(
        seq=seq,
        at=AT,
        action=record.action,
        actor_org_id=record.actor_org_id,
        actor_user_id=record.actor_user_id,
        agreement_id=record.agreement_id,
        purpose=record.purpose,
        subject_ref=record.subject_ref,
        decision=record.decision,
        reasons=json.loads(reasons_json),
        payload_hash=record.payload_hash,
        details=json.loads(details_json),
    )
    assert entry_bytes(row) == data


TRICKY = [
    AuditRecord(action="check.share_code"),
    AuditRecord(
        action="disclosure",
        actor_org_id=uuid.UUID(int=1),
        agreement_id=uuid.UUID(int=2),
        purpose="right_to_work",
        subject_ref='p-"1"\\é😀',
        decision="permit",
        reasons=("agreement in force", "second\nline"),
        payload_hash="ab" * 32,
        details={"n": 1, "x": 0.1, "big": 2**65, "nested": {"b": [1, None, True], "a": "€"}},
    ),
    AuditRecord(
        action="exemption",
        actor_user_id=uuid.UUID(int=3),
        details={"person": uuid.UUID(int=4), "on": date(2026, 1, 2), "tags": {"b", "a"}},
    ),
    # PostgreSQL text cannot hold NUL; JSON text holds it escaped.
    AuditRecord(action="control\tchars\u2028", details={"t": ("a", 1), "nul": "a\x00b"}),
]


def test_stored_rows_recompute_their_leaf_hashes(session: Session) -> None:
    entries = append_many(session, TRICKY)
    assert all(e.seq is None and e.leaf_hash is None for e in entries)  # until integrated
    assert integrated(session, entries) == [0, 1, 2, 3]
    session.expire_all()
    stored = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert [e.seq for e in stored] == [0, 1, 2, 3]
    for entry, row in zip(entries, stored, strict=True):
        assert row.id == entry.id and row.leaf_hash is not None
        assert bytes(row.leaf_hash) == merkle.leaf_hash(entry_bytes(row))
        # The returned snapshots are what reading the rows back gives.
        assert (entry.reasons, entry.details) == (row.reasons, row.details)
        assert (entry.actor_org_id, entry.subject_ref) == (row.actor_org_id, row.subject_ref)
    assert stored[2].details == {
        "person": str(uuid.UUID(int=4)),
        "on": "2026-01-02",
        "tags": ["a", "b"],
    }
    assert stored[3].details == {"t": ["a", 1], "nul": "a\x00b"}


def test_a_lone_surrogate_is_refused_as_before() -> None:
    """Not UTF-8: both ways of encoding refuse it before anything is written."""
    record = AuditRecord(action="x", details={"s": "\ud800"})
    for encode in (fast_texts, reference_leaf_bytes):
        try:
            encode(0, record)
        except UnicodeEncodeError:
            continue
        raise AssertionError(f"{encode.__name__} accepted a lone surrogate")

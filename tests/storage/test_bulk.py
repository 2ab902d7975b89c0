"""Bulk inserts store exactly what the ORM would, on both backends (awkward text included)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select, text

from shareguard.audit.models import AuditEntry
from shareguard.status.models import Person
from shareguard.storage.base import new_id
from shareguard.storage.bulk import insert_rows


def test_rows_round_trip_through_the_fast_paths(session) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    awkward = 'tab\there, new\nline, back\\slash, "quoted", ünïcode, \\N'
    rows = [
        {
            "id": new_id(),
            "at": at,
            "action": "test.bulk",
            "agreement_id": None,
            "purpose": awkward,
            "decision": None,
            "reasons": [awkward],
            "details": {"kind": "pause", "text": awkward, "n": 3},
            "leaf_hash": bytes(range(32)),
        },
        {
            "id": new_id(),
            "at": at,
            "action": "test.bulk",
            "agreement_id": new_id(),
            "purpose": "",
            "decision": "deny",
            "reasons": [],
            "details": {},
            "leaf_hash": None,
        },
    ]
    assert insert_rows(session, AuditEntry, rows) == 2
    assert insert_rows(session, AuditEntry, []) == 0
    person = new_id()
    insert_rows(
        session,
        Person,
        [(person, at, date(1990, 2, 3), "FRA", ["pupil"], [], "", "")],
        (
            "id",
            "created_at",
            "date_of_birth",
            "nationality",
            "categories",
            "locks",
            "photo_ref",
            "postcode",
        ),
    )
    got = {
        e.id: e for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "test.bulk"))
    }
    for row in rows:
        e = got[row["id"]]
        assert (e.at, e.purpose, e.reasons, e.details, e.leaf_hash) == (
            row["at"],
            row["purpose"],
            row["reasons"],
            row["details"],
            row["leaf_hash"],
        )
        assert e.agreement_id == row["agreement_id"] and e.decision == row["decision"]
    p = session.get(Person, person)
    assert (p.date_of_birth, p.categories, p.created_at) == (date(1990, 2, 3), ["pupil"], at)


def test_ids_read_back_as_the_uuids_written(session) -> None:  # type: ignore[no-untyped-def]
    """Ids come back equal, hashing and sorting as the UUIDs written (SQLite keeps them as
    text and reads them by a fast path; an id stored as text of another shape still reads)."""
    ids = sorted(new_id() for _ in range(3))
    at = datetime(2026, 3, 4, tzinfo=UTC)
    insert_rows(
        session,
        AuditEntry,
        [
            {
                "id": i,
                "at": at,
                "action": "test.ids",
                "agreement_id": i,
                "reasons": [],
                "details": {},
            }
            for i in ids
        ],
    )
    got = session.execute(
        select(AuditEntry.id, AuditEntry.agreement_id).where(AuditEntry.action == "test.ids")
    ).all()
    assert sorted(r.id for r in got) == ids and {r.agreement_id for r in got} == set(ids)
    assert all(isinstance(r.id, uuid.UUID) and str(r.id) == str(r.agreement_id) for r in got)
    if session.get_bind().dialect.name == "sqlite":  # text with dashes: uuid.UUID's own path
        session.execute(
            text("UPDATE audit_entries SET agreement_id = :dashed WHERE action = 'test.ids'"),
            {"dashed": str(ids[0])},
        )
        got = session.scalars(
            select(AuditEntry.agreement_id).where(AuditEntry.action == "test.ids")
        ).all()
        assert set(got) == {ids[0]}

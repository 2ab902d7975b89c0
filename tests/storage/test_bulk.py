"""Bulk inserts store exactly what the ORM would, on both backends (awkward text included)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

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

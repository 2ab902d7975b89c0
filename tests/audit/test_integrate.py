"""Sequence in the transaction, integrate in batches: entries are written without a log-wide
lock and given their places, once each, by one integrator at a time."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.audit import AuditEntry, AuditRecord, append, append_many, merkle
from shareguard.audit import log as audit_log
from shareguard.audit.integrator import Integrator, catch_up
from shareguard.audit.log import IntegrationConflict, StoredTree, entry_bytes
from shareguard.audit.proofs import verify_bundle
from shareguard.audit.service import AuditService
from shareguard.audit.signing import Verifier
from shareguard.config import Settings
from shareguard.storage.db import session_factory
from tests.factories import bearer, integrated


def test_an_entry_is_written_pending_and_numbered_once_it_has_committed(
    session: Session,
) -> None:
    entry = append(session, AuditRecord(action="check.share_code", subject_ref="p-1"))
    assert entry.id is not None and entry.seq is None and entry.leaf_hash is None
    session.commit()
    assert StoredTree(session).size() == 0 and audit_log.pending_count(session) == 1
    assert audit_log.integrate(session) == 1
    session.commit()
    stored = session.get(AuditEntry, entry.id)
    assert stored is not None and stored.seq == 0
    assert stored.leaf_hash == merkle.leaf_hash(entry_bytes(stored))
    assert StoredTree(session).root() == merkle.leaf_hash(entry_bytes(stored))
    assert audit_log.integrate(session) == 0  # nothing twice


def test_entries_are_numbered_in_commit_order_in_batches(session: Session) -> None:
    first = append_many(session, [AuditRecord(action="a", details={"i": i}) for i in range(5)])
    session.commit()
    second = append_many(session, [AuditRecord(action="b", details={"i": i}) for i in range(4)])
    session.commit()
    assert audit_log.integrate(session, limit=3) == 3  # a batch stops at its limit
    session.commit()
    assert audit_log.pending_count(session) == 6
    assert integrated(session, [*first, *second]) == list(range(9))
    leaves = [bytes(h) for h in session.scalars(select(AuditEntry.leaf_hash).order_by("seq"))]
    assert StoredTree(session).root() == merkle.root(leaves)


def test_a_stale_integrator_cannot_number_an_entry_twice(session: Session) -> None:
    append_many(session, [AuditRecord(action="a") for _ in range(3)])
    session.commit()
    rows = audit_log._pending_rows(session, 10)
    session.rollback()
    assert integrated(session) == []
    # An integrator that read the same pending rows before: its batch is refused whole.
    size, stack = audit_log._head_and_frontier(session)
    with pytest.raises(IntegrationConflict):
        audit_log._integrate_rows(session, rows, size, stack)
    session.rollback()
    assert list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq))) == [0, 1, 2]


@pytest.mark.postgres
def test_appending_takes_no_log_wide_lock(pg_engine: Engine) -> None:
    """Two transactions append at once: the second commits while the first is still open."""
    factory = session_factory(pg_engine)
    try:
        with factory() as first, factory() as second:
            append(first, AuditRecord(action="first"))  # open, not committed
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            append(second, AuditRecord(action="second"))
            second.commit()  # before: waited for `first` on pg_advisory_xact_lock
            first.commit()
        with factory() as s:
            assert integrated(s) == [] and StoredTree(s).size() == 2
    finally:
        with pg_engine.begin() as conn:
            for table in ("audit_nodes", "audit_head", "audit_entries"):
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.mark.postgres
def test_one_integrator_at_a_time_and_another_takes_over(
    pg_engine: Engine, settings: Settings
) -> None:
    quick = settings.model_copy(update={"integrate_interval": 0.02})
    a, b = Integrator(pg_engine, quick), Integrator(pg_engine, quick)
    factory = session_factory(pg_engine)
    try:
        a.start()
        _wait(lambda: a.active)
        b.start()
        time.sleep(0.3)
        assert a.active and not b.active  # the advisory lock: one holder
        with factory() as s:  # another transaction cannot take the role either
            assert audit_log.integrate(s) is None
        a.stop()  # as when its process dies: the lock goes with its connection
        _wait(lambda: b.active)
        with factory() as s:
            append_many(s, [AuditRecord(action="after-failover") for _ in range(5)])
            s.commit()
            _wait(lambda: StoredTree(s).size() == 5)
            s.commit()
    finally:
        a.stop()
        b.stop()
        with pg_engine.begin() as conn:
            for table in ("audit_checkpoints", "audit_nodes", "audit_head", "audit_entries"):
                conn.execute(text(f"DELETE FROM {table}"))


def _wait(condition, seconds: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_concurrent_appenders_and_an_integrator_give_every_entry_one_place(
    engine: Engine, settings: Settings
) -> None:
    integrator = Integrator(engine, settings.model_copy(update={"integrate_interval": 0.01}))
    factory = session_factory(engine)
    written: list[uuid.UUID] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with factory() as s:
                for i in range(10):
                    entries = append_many(
                        s, [AuditRecord(action=f"w{n}", details={"i": i, "j": j}) for j in range(3)]
                    )
                    s.commit()
                    written.extend(entries.ids)
        except BaseException as exc:
            errors.append(exc)

    integrator.start()
    try:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        integrator.stop()
    assert not errors
    with factory() as s:
        seqs = integrated(s, written)
        assert sorted(seqs) == list(range(len(written)))
        assert AuditService(s, settings).verify().ok


def test_who_checked_my_data_shows_entries_before_they_are_integrated(
    session: Session, settings: Settings
) -> None:
    person = uuid.uuid4()
    append(session, AuditRecord(action="check.share_code", subject_ref=str(person)))
    session.commit()
    items = AuditService(session, settings).access_log(
        person, Principal(organisation_id=None, person_id=person)
    )
    assert [(i.seq, i.action) for i in items] == [(None, "check.share_code")]
    assert items[0].entry_id is not None


def test_the_proof_of_an_entry_is_pending_until_it_is_integrated(
    session: Session, settings: Settings, engine: Engine, world
) -> None:
    from shareguard.web.app import create_app

    # No integrator in this app, so the entry stays pending until the test integrates it.
    app = create_app(settings.model_copy(update={"integrator": False}), engine)
    entry = append(session, AuditRecord(action="check.share_code"))
    session.commit()
    auditor = bearer(world.keys["auditor"])
    with TestClient(app) as client:
        r = client.get(f"/api/v1/audit/entries/{entry.id}/proof", headers=auditor)
        assert r.status_code == 202, r.text
        assert r.headers["retry-after"] == "1"
        assert r.json()["status"] == "pending" and r.json()["entry_id"] == str(entry.id)
        [seq] = integrated(session, [entry])
        r = client.get(f"/api/v1/audit/entries/{entry.id}/proof", headers=auditor)
        assert r.status_code == 200, r.text
        verifier = Verifier.parse(client.get("/api/v1/audit/public-key").json()["vkey"])
        assert verify_bundle(r.json(), verifier).startswith(f"OK: entry #{seq}")
        missing = client.get(f"/api/v1/audit/entries/{uuid.uuid4()}/proof", headers=auditor)
        assert missing.status_code == 404
        partner = client.get(
            f"/api/v1/audit/entries/{entry.id}/proof", headers=bearer(world.keys["agency"])
        )
        assert partner.status_code == 403
        spec = client.get("/openapi.json").json()
        documented = spec["paths"]["/api/v1/audit/entries/{entry_id}/proof"]["get"]["responses"]
        assert {"200", "202"} <= set(documented)


def test_catch_up_waits_for_a_running_integrator_instead_of_failing(
    session: Session, settings: Settings, engine: Engine
) -> None:
    integrator = Integrator(engine, settings.model_copy(update={"integrate_interval": 0.05}))
    integrator.start()
    try:
        _wait(lambda: integrator.active)
        append_many(session, [AuditRecord(action="x") for _ in range(7)])
        session.commit()
        assert catch_up(session) == 0
        session.commit()
        assert StoredTree(session).size() == 7
    finally:
        integrator.stop()

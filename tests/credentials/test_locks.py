"""The person's locks on their own record: set and cleared by them, audited, seen by the policy."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shareguard.credentials.service import LockService
from shareguard.errors import Forbidden, InvalidInput
from shareguard.status.service import subject_for
from tests.credentials.conftest import FAMILY, as_person, audit, make_person
from tests.factories import bearer


def test_person_sets_and_clears_their_lock_and_each_change_is_audited(
    world: Any, person: uuid.UUID
) -> None:
    svc = LockService(world.session)
    me = as_person(person)
    assert svc.locks(person, me) == []
    assert svc.set_lock(person, "attribute_checks", me) == ["attribute_checks"]
    # The policy sees it through the status register's subject.
    assert subject_for(world.session, person).locks == frozenset({"attribute_checks"})
    [entry] = audit(world.session, "person.lock.set")
    assert entry.subject_ref == str(person)
    assert entry.details == {"lock": "attribute_checks", "by": "person"}
    assert FAMILY not in str(entry.details)

    assert svc.clear_lock(person, "attribute_checks", me) == []
    assert subject_for(world.session, person).locks == frozenset()
    assert len(audit(world.session, "person.lock.clear")) == 1


def test_setting_a_lock_twice_changes_nothing_and_audits_once(
    world: Any, person: uuid.UUID
) -> None:
    svc = LockService(world.session)
    svc.set_lock(person, "attribute_checks", as_person(person))
    svc.set_lock(person, "attribute_checks", as_person(person))
    assert len(audit(world.session, "person.lock.set")) == 1
    svc.clear_lock(person, "attribute_checks", as_person(person))
    svc.clear_lock(person, "attribute_checks", as_person(person))
    assert len(audit(world.session, "person.lock.clear")) == 1


def test_a_caseworker_may_lock_on_the_persons_behalf(world: Any, person: uuid.UUID) -> None:
    LockService(world.session).set_lock(person, "attribute_checks", world.principals["caseworker"])
    [entry] = audit(world.session, "person.lock.set")
    assert entry.details["by"] == "caseworker"
    assert entry.actor_user_id == world.users["caseworker"]


def test_nobody_else_may_touch_a_persons_locks(world: Any, person: uuid.UUID) -> None:
    svc = LockService(world.session)
    someone_else = as_person(make_person(world))
    for principal in (someone_else, world.principals["bank"], world.principals["officer"]):
        with pytest.raises(Forbidden):
            svc.set_lock(person, "attribute_checks", principal)
    with pytest.raises(InvalidInput, match="unknown lock"):
        svc.set_lock(person, "everything", as_person(person))
    assert svc.locks(person, as_person(person)) == []
    assert audit(world.session, "person.lock.set") == []


def test_locks_api(client: Any, world: Any, person: uuid.UUID) -> None:
    url = f"/api/v1/persons/{person}/locks"
    cw = bearer(world.keys["caseworker"])
    got = client.get(url, headers=cw)
    assert got.status_code == 200
    assert got.json()["locks"] == []
    assert "attribute_checks" in got.json()["available"]
    put = client.put(f"{url}/attribute_checks", headers=cw)
    assert put.status_code == 200, put.text
    assert put.json()["locks"] == ["attribute_checks"]
    refused = client.put(f"{url}/attribute_checks", headers=bearer(world.keys["bank"]))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    unknown = client.put(f"{url}/nonsense", headers=cw)
    assert unknown.status_code == 422
    cleared = client.delete(f"{url}/attribute_checks", headers=cw)
    assert cleared.json()["locks"] == []


def test_caseworker_sets_and_clears_a_lock_by_cli(
    world: Any, person: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from shareguard.cli import app
    from shareguard.storage import db

    monkeypatch.setattr(db, "get_engine", lambda: world.session.get_bind())
    runner = CliRunner()
    cw = ["--as", "caseworker@test.example"]
    done = runner.invoke(app, ["locks", "set", str(person), *cw])
    assert done.exit_code == 0, done.output
    assert "attribute_checks" in done.output
    assert subject_for(world.session, person).locks == frozenset({"attribute_checks"})
    world.session.rollback()  # end the read: SQLite transactions here take the write lock
    refused = runner.invoke(app, ["locks", "set", str(person), "--as", "agency_user@test.example"])
    assert refused.exit_code == 1
    assert runner.invoke(app, ["locks", "clear", str(person), *cw]).exit_code == 0
    world.session.expire_all()
    assert subject_for(world.session, person).locks == frozenset()
    assert len(audit(world.session, "person.lock.set")) == 1
    assert len(audit(world.session, "person.lock.clear")) == 1

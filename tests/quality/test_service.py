"""The data-quality queue on a real register: findings, owners, due dates, duplicates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from shareguard.audit.models import AuditEntry
from shareguard.errors import Conflict, Forbidden, InvalidInput
from shareguard.quality.models import QualityFinding
from shareguard.quality.service import QualityService, is_suspended
from shareguard.storage.base import today
from tests import factories
from tests.factories import integrated


def person(world, given="Amara", family="Okonkwo", dob=date(1990, 4, 12), postcode="SW1A 1AA"):  # type: ignore[no-untyped-def]
    return factories.person(world, given, family, dob, nationality="NGA", postcode=postcode)


def test_a_run_queues_each_problem_once_with_owner_and_due_date(world) -> None:  # type: ignore[no-untyped-def]
    s = world.session
    p = person(world)
    factories.status_record(
        world,
        p.id,
        "limited_leave",
        valid_from=today() - timedelta(days=10),
        valid_to=None,
        source="caseworking",
        evidence_ref="E1",
        commit=False,
    )
    # a second current record of a different kind, overlapping: a conflict
    factories.status_record(
        world,
        p.id,
        "no_leave",
        valid_from=today() - timedelta(days=5),
        may_work=False,
        may_rent=False,
        source="caseworking",
        evidence_ref="E2",
        commit=False,
    )
    q = QualityService(s)
    run = q.run(world.principals["reviewer"], only=["conflicting_status_records", "missing_fields"])
    assert run.counts == {"conflicting_status_records": 1}
    [finding] = q.findings(world.principals["reviewer"])
    assert finding.rule == "conflicting_status_records"
    assert finding.owner_id == world.users["reviewer"]
    assert finding.due_date == today() + timedelta(days=5)  # high severity
    assert finding.person_id == p.id and is_suspended(s, p.id)
    # running again does not raise it twice
    again = q.run(world.principals["reviewer"], only=["conflicting_status_records"])
    assert again.new_findings == 0
    assert s.scalar(select(func.count()).select_from(QualityFinding)) == 1
    # resolving closes it, once, with a note
    with pytest.raises(InvalidInput):
        q.resolve(finding.id, world.principals["reviewer"], "  ")
    q.resolve(finding.id, world.principals["reviewer"], "superseded the wrong record")
    assert not is_suspended(s, p.id)
    with pytest.raises(Conflict):
        q.resolve(finding.id, world.principals["reviewer"], "again")
    integrated(s)  # log order: numbers come at integration
    actions = list(
        s.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.like("quality.%"))
            .order_by(AuditEntry.seq)
        )
    )
    assert actions == ["quality.run", "quality.run", "quality.resolve"]


def test_decision_with_appeal_and_watch_basis(world) -> None:  # type: ignore[no-untyped-def]
    s = world.session
    p = person(world)
    factories.decision(
        world,
        p.id,
        decided_on=date(1980, 1, 1),
        final=False,
        appeal_window_end=None,
        source="x",
        evidence_ref="E",
        commit=False,
    )
    run = QualityService(s).run(world.principals["reviewer"], only=["implausible_dates"])
    assert run.counts == {"implausible_dates": 1}  # decided before the person was born


def test_likely_duplicates_found_by_splink(world) -> None:  # type: ignore[no-untyped-def]
    a = person(world)
    b = person(world, given="Amarra")  # a typo, same date of birth and postcode
    person(world, given="Peter", family="Jones", dob=date(1960, 12, 12), postcode="L1 8JQ")
    run = QualityService(world.session).run(
        world.principals["reviewer"], only=["likely_duplicates"]
    )
    assert run.counts == {"likely_duplicates": 1}
    [f] = QualityService(world.session).findings(world.principals["reviewer"])
    assert {f.record_id, f.message.split()[5]} == {str(a.id), str(b.id)}
    assert "Amara" not in f.message and "1990" not in f.message


def test_duplicates_without_any_postcode(world) -> None:  # type: ignore[no-untyped-def]
    person(world, postcode="")
    person(world, given="Amarra", postcode="")
    run = QualityService(world.session).run(
        world.principals["reviewer"], only=["likely_duplicates"]
    )
    assert run.counts == {"likely_duplicates": 1}


def test_bad_requests_change_nothing(world) -> None:  # type: ignore[no-untyped-def]
    q = QualityService(world.session)
    with pytest.raises(InvalidInput, match="unknown rule"):
        q.run(world.principals["reviewer"], only=["no_such_rule"])
    with pytest.raises(Forbidden):
        q.run(world.principals["agency"])
    assert world.session.scalar(select(func.count()).select_from(QualityFinding)) == 0


def test_api_run_and_queue(client, world) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import bearer

    person(world, dob=date(1850, 1, 1))
    r = client.post(
        "/api/v1/quality/runs",
        json={"rules": ["implausible_dates"]},
        headers=bearer(world.keys["officer"]),
    )
    assert r.status_code == 201, r.text
    assert r.json()["new_findings"] == 1
    r = client.get("/api/v1/quality/findings", headers=bearer(world.keys["officer"]))
    assert [f["rule"] for f in r.json()] == ["implausible_dates"]
    r = client.get("/api/v1/quality/findings", headers=bearer(world.keys["agency"]))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    # An officer gives it to a caseworker with a due date; a past date is refused.
    fid = client.get("/api/v1/quality/findings", headers=bearer(world.keys["officer"])).json()[0]
    due = (today() + timedelta(days=3)).isoformat()
    url = f"/api/v1/quality/findings/{fid['id']}/assign"
    body = {"owner_id": str(world.users["caseworker"]), "due_date": due}
    r = client.post(url, json=body, headers=bearer(world.keys["officer"]))
    assert r.status_code == 200, r.text
    assert r.json()["owner_id"] == str(world.users["caseworker"]) and r.json()["due_date"] == due
    body["due_date"] = "2000-01-01"
    r = client.post(url, json=body, headers=bearer(world.keys["officer"]))
    assert r.status_code == 422 and r.json()["field"] == "due_date"
    r = client.get("/api/v1/quality/findings", headers=bearer(world.keys["officer"]))
    assert r.json()[0]["due_date"] == due  # the refused request changed nothing


def test_a_finding_on_a_watch_listed_person_holds_the_entry_until_resolved(world) -> None:  # type: ignore[no-untyped-def]
    from shareguard.matching.watchlist import WatchlistService

    s = world.session
    # no nationality: a low-severity missing_fields finding
    p = factories.person(world, "Amara", "Okonkwo", date(2001, 4, 12), commit=False)
    d = factories.decision(world, p.id, source="caseworking", evidence_ref="E", commit=False)
    agreement_id = world.agreement(bulk=True)
    watch = WatchlistService(s)
    entry = watch.propose(agreement_id, p.id, d.id, "CASE-9", world.principals["caseworker"])
    entry = watch.verify(entry.id, world.principals["caseworker2"])
    assert entry.state == "active" and watch.check(entry) == []

    run = QualityService(s).run(world.principals["reviewer"], only=["missing_fields"])
    assert run.counts == {"missing_fields": 1}
    [finding] = QualityService(s).findings(world.principals["reviewer"])
    assert finding.suspended_entries == [str(entry.id)]
    assert watch.check(entry) == ["quality_hold"]
    included, kept_out = watch.current(agreement_id)
    assert included == [] and [e.id for e, _ in kept_out] == [entry.id]

    QualityService(s).resolve(finding.id, world.principals["reviewer"], "nationality confirmed")
    assert watch.check(entry) == []

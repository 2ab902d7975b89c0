"""The demo story shows what the inspectorate could not see: the error rate and the pause."""

from __future__ import annotations

import uuid

from shareguard.demo.world import seed
from shareguard.reports.service import ReportService


def test_demo_story_shows_error_rate_rectification_and_pause(engine, session) -> None:  # type: ignore[no-untyped-def]
    world = seed(engine, persons=40)
    report = ReportService(session).report(
        world.principal("officer"), agreement_id=world.agreements["HO-DVLA-001"]
    )
    story = world.extra["report_story"]
    m, c = report["matching"], report["corrections"]
    assert m["adverse_actions"] == story["acted"] and m["overturned"] == story["corrected"]
    assert 0 < m["error_rate"] < 1
    assert (c["corrections"], c["notices"], c["acknowledged"]) == (4, 4, 2)
    assert c["overdue"] == 1 and c["escalated"] == 1
    assert c["time_to_rectify"]["done"] == 2 and c["time_to_rectify"]["median_hours"] > 24
    assert report["refusals"]["by_kind"].get("pause", 0) > 0
    assert report["pause_effect"]["share_blocked"] > 0
    assert report["value_assessment"]["conclusion"] == "amend"
    # seeding again changes nothing
    session.rollback()  # end the read: SQLite transactions here take the write lock
    seed(engine, persons=40)
    again = ReportService(session).report(
        world.principal("officer"), agreement_id=world.agreements["HO-DVLA-001"]
    )
    assert again["corrections"]["corrections"] == 4


def test_demo_agency_sees_what_each_replayed_run_disclosed(engine, session) -> None:  # type: ignore[no-untyped-def]
    from shareguard.accounts.principal import Principal
    from shareguard.matching import ReviewService, RunService

    world = seed(engine, persons=40)
    dvla = Principal(organisation_id=world.orgs["dvla"], roles=frozenset({"partner_user"}))
    matching, review = RunService(session), ReviewService(session)
    runs = matching.runs(world.agreements["HO-DVLA-001"])
    assert runs
    for run in runs:
        results = matching.partner_results(run.id, dvla)
        assert len(results) == run.counts["disclosed"] > 0
        # Only minimised fields left: the pause and the agreement decide, never the demo.
        assert {"name", "date_of_birth"} <= set(results[0]["person"])
        assert all(review.candidate(uuid.UUID(r["candidate_id"])).disclosure_id for r in results)

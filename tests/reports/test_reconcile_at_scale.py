"""Reports reconcile with the audit log at 10^6 audit entries (bulk-built, about a minute).

The rows are written as the capabilities write them (a disclosure row for every permitted
disclosure entry, a check row for every check answer, a candidate and an adverse action for
every ``matching.adverse_action``, notices with the disclosures they withdrew), but in bulk,
so the test spends its time counting, not building. Marked ``scale``: it runs in CI; deselect
it with ``-m "not scale"`` while iterating.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from shareguard.audit.models import AuditEntry
from shareguard.checks.models import Case, Check
from shareguard.corrections.models import Correction, NoticeDisclosure, RectificationNotice
from shareguard.matching.models import AdverseAction, Candidate, MatchRun, PartnerDataset
from shareguard.policy.models import Disclosure
from shareguard.reports.service import ReportService
from shareguard.status.models import Person
from shareguard.storage.base import new_id, utcnow
from shareguard.storage.bulk import insert_rows
from tests.factories import TestWorld

pytestmark = pytest.mark.scale

ENTRIES = 1_000_000
CHECK_ANSWERS = 150_000
MATCH_RESULTS = 150_000
REFUSALS = 100_000
ADVERSE = 20_000
NOTICES = 6_000
NOISE_ACTIONS = ("watchlist.propose", "watchlist.verify", "check.share_code", "matching.review")
REFUSAL_KINDS = ("pause", "firewall", "limit", "lock")
#: People each bulk agreement's run kept out at its gate, and those a pause kept out.
KEPT_OUT = (700, 40)
PAUSED = (650, 0)


def _entry(
    action: str,
    at: datetime,
    agreement: uuid.UUID | None,
    decision: str | None = None,
    details: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    return (new_id(), at, action, agreement, decision, [], details or {})


ENTRY_COLUMNS = ("id", "at", "action", "agreement_id", "decision", "reasons", "details")


def build(world: TestWorld, rng: random.Random) -> dict[str, Any]:
    """About 10^6 audit entries with the rows behind them; returns what was built."""
    s = world.session
    if s.get_bind().dialect.name == "sqlite":
        # A bigger page cache for this connection while a million rows go in (256 MiB).
        s.connection().exec_driver_sql("PRAGMA cache_size = -262144")
    checks_under = [world.agreement(reference=f"T-CHK-{i}") for i in range(2)]
    bulk = [world.agreement(reference=f"T-BULK-{i}", bulk=True) for i in range(2)]
    dept, agency = world.orgs["dept"], world.orgs["agency"]
    start = utcnow() - timedelta(days=365)

    def when(i: int, n: int) -> datetime:
        return start + timedelta(seconds=int(365 * 86400 * i / n))

    persons = [new_id() for _ in range(200)]
    insert_rows(
        s,
        Person,
        [
            {
                "id": p,
                "created_at": start,
                "date_of_birth": start.date(),
                "nationality": "FRA",
                "categories": [],
                "locks": [],
                "photo_ref": "",
                "postcode": "",
            }
            for p in persons
        ],
    )
    entries: list[tuple[Any, ...]] = []
    disclosures: list[tuple[Any, ...]] = []
    checks: list[dict[str, Any]] = []
    by_disclosure: dict[uuid.UUID, tuple[uuid.UUID, datetime]] = {}
    outcomes = ("confirmed", "confirmed", "confirmed", "not_confirmed", "referred")
    for i in range(CHECK_ANSWERS):
        at, aid, did = when(i, CHECK_ANSWERS), checks_under[i % 2], new_id()
        entries.append(_entry("disclosure.check_answer", at, aid, "permit"))
        disclosures.append(
            (did, at, "check_answer", "check", aid, "driving_licence", agency, entries[-1][0])
        )
        checks.append(
            {
                "id": new_id(),
                "at": at,
                "organisation_id": agency,
                "agreement_id": aid,
                "purpose": "driving_licence",
                "method": "attributes",
                "outcome": outcomes[i % 5],
                "disclosure_id": did,
            }
        )
    for i in range(MATCH_RESULTS):
        at, aid, did = when(i, MATCH_RESULTS), bulk[i % 2], new_id()
        entries.append(_entry("disclosure.match_result", at, aid, "permit"))
        disclosures.append(
            (
                did,
                at,
                "match_result",
                "bulk_disclosure",
                aid,
                "driving_licence",
                agency,
                entries[-1][0],
            )
        )
        by_disclosure[did] = (aid, at)
    for i in range(REFUSALS):
        aid = (checks_under + bulk)[i % 4]
        kind = REFUSAL_KINDS[i % len(REFUSAL_KINDS)]
        entries.append(_entry("policy.deny", when(i, REFUSALS), aid, "deny", {"kind": kind}))
    # Adverse actions on match results; some later withdrawn by a rectification notice.
    acted = rng.sample(sorted(by_disclosure, key=str), ADVERSE)
    runs = {}
    for n, aid in enumerate(bulk):
        dataset = PartnerDataset(
            agreement_id=aid, name="t", source_format="csv", path="", sha256="0" * 64
        )
        s.add(dataset)
        s.flush()
        # What the run's gate kept out, as a run records it on its row and its audit entry.
        counts = {
            "kept_out": KEPT_OUT[n],
            "kept_out_by_policy": {"pause": PAUSED[n], "firewall": 1},
        }
        run = MatchRun(agreement_id=aid, dataset_id=dataset.id, state="succeeded", counts=counts)
        s.add(run)
        s.flush()
        runs[aid] = run.id
        entries.append(
            _entry("matching.run_finish", start, aid, None, {"run_id": str(run.id), **counts})
        )
    candidates, actions = [], []
    for i, did in enumerate(acted):
        aid, at = by_disclosure[did]
        cid = new_id()
        candidates.append(
            {
                "id": cid,
                "run_id": runs[aid],
                "person_id": persons[i % len(persons)],
                "partner_record_id": f"P{i}",
                "match_probability": 0.99,
                "match_weight": 12.0,
                "explanation": [],
                "band": "match",
                "review_state": "same",
                "disclosure_id": did,
                "refused_reason": "",
            }
        )
        actions.append(
            {
                "id": new_id(),
                "candidate_id": cid,
                "agreement_id": aid,
                "organisation_id": agency,
                "kind": "licence_revoked",
                "contest_route": "write to us",
                "reported_at": at + timedelta(days=3),
            }
        )
        entries.append(_entry("matching.adverse_action", at + timedelta(days=3), aid, "permit"))
    corrections, notices, withdrawn = [], [], []
    for i, did in enumerate(acted[:NOTICES]):
        aid, at = by_disclosure[did]
        correction, notice = new_id(), new_id()
        sent = at + timedelta(days=30)
        corrections.append(
            {
                "id": correction,
                "created_at": sent,
                "person_id": persons[i % len(persons)],
                "target_kind": "decision",
                "target_id": new_id(),
                "changes": {"overturned": True},
                "reason": "wrong",
                "evidence_ref": "E",
                "expected_action": "reinstate",
                "deadline_days": 14,
                "lifts_adverse_action": True,
                "state": "applied",
            }
        )
        acknowledged = sent + timedelta(hours=24 + i % 200) if i % 3 else None
        notices.append(
            {
                "id": notice,
                "created_at": sent,
                "reference": f"RN-{i:010d}",
                "correction_id": correction,
                "organisation_id": agency,
                "agreement_ids": [str(aid)],
                "disclosure_ids": [str(did)],
                "disclosure_kinds": ["match_result"],
                "first_disclosed_at": at,
                "what_changed": "decision",
                "expected_action": "reinstate",
                "deadline": sent + timedelta(days=14),
                "acknowledged_at": acknowledged,
                "acknowledgement_note": "",
            }
        )
        withdrawn.append({"notice_id": notice, "disclosure_id": did, "agreement_id": aid})
        entries.append(_entry("correction.notice", sent, aid))
        if acknowledged is not None:
            entries.append(_entry("correction.acknowledge", acknowledged, aid))
    contests = [
        {
            "id": new_id(),
            "check_id": c["id"],
            "kind": "contest",
            "state": "open",
            "opened_at": c["at"],
            "respond_by": c["at"].date(),
            "statement": "",
            "outcome": "",
            "outcome_note": "",
        }
        for c in checks[2::1000]
    ]
    noise = ENTRIES - len(entries)
    for i in range(noise):
        aid = (None, *checks_under, *bulk)[i % 5]
        entries.append(_entry(NOISE_ACTIONS[i % len(NOISE_ACTIONS)], when(i, noise), aid))
    insert_rows(s, AuditEntry, entries, ENTRY_COLUMNS)
    insert_rows(
        s,
        Disclosure,
        [
            (did, at, at.date(), kind, action, aid, purpose, dept, org, "h", [], [], entry)
            for did, at, kind, action, aid, purpose, org, entry in disclosures
        ],
        (
            "id",
            "at",
            "day",
            "kind",
            "action",
            "agreement_id",
            "purpose",
            "discloser_org_id",
            "recipient_org_id",
            "payload_hash",
            "data_items",
            "record_refs",
            "audit_entry_id",
        ),
    )
    insert_rows(s, Check, checks)
    insert_rows(s, Case, contests)
    insert_rows(s, Candidate, candidates)
    insert_rows(s, AdverseAction, actions)
    insert_rows(s, Correction, corrections)
    insert_rows(s, RectificationNotice, notices)
    insert_rows(s, NoticeDisclosure, withdrawn)
    s.flush()
    return {"agreements": [*checks_under, *bulk], "contested": len(contests)}


def audit_counts(session: Any) -> Counter[tuple[str, Any, Any]]:
    """(action, agreement, decision) → entries: the log counted in one pass."""
    stmt = select(
        AuditEntry.action, AuditEntry.agreement_id, AuditEntry.decision, func.count()
    ).group_by(AuditEntry.action, AuditEntry.agreement_id, AuditEntry.decision)
    return Counter({(a, g, d): int(n) for a, g, d, n in session.execute(stmt)})


def test_reports_reconcile_with_a_million_entry_audit_log(world: TestWorld) -> None:
    built = build(world, random.Random(20))
    s = world.session
    log = audit_counts(s)
    assert sum(log.values()) >= ENTRIES

    def count(action: str, agreement: Any = ..., decision: Any = ...) -> int:
        return sum(
            n
            for (a, g, d), n in log.items()
            if (a.startswith(action[:-1]) if action.endswith("%") else a == action)
            and (agreement is ... or g == agreement)
            and (decision is ... or d == decision)
        )

    finished: dict[Any, Counter[str]] = {}
    for aid, details in s.execute(
        select(AuditEntry.agreement_id, AuditEntry.details).where(
            AuditEntry.action == "matching.run_finish"
        )
    ):
        got = finished.setdefault(aid, Counter())
        got["kept_out"] += details["kept_out"]
        got.update({f"policy.{k}": n for k, n in details["kept_out_by_policy"].items()})

    started = time.perf_counter()
    report = ReportService(s).report(world.principals["officer"])
    took = time.perf_counter() - started
    sections = {a["agreement_id"]: a for a in report["agreements"]}
    for aid in built["agreements"]:
        section = sections[str(aid)]
        assert section["disclosures"]["total"] == count("disclosure.%", aid, "permit")
        assert section["checks"]["total"] == count("disclosure.check_answer", aid)
        assert section["refusals"]["total"] == count("policy.deny", aid)
        assert section["matching"]["adverse_actions"] == count(
            "matching.adverse_action", aid, "permit"
        )
        assert section["corrections"]["notices"] == count("correction.notice", aid)
        assert section["corrections"]["acknowledged"] == count("correction.acknowledge", aid)
        # every notice withdrew one acted-on disclosure: each is an overturned action
        assert section["matching"]["overturned"] == section["corrections"]["notices"]
        # people the runs' gates kept out, as the runs' audit entries give them
        got = finished.get(aid, Counter())
        assert section["matching"]["kept_out"] == got["kept_out"]
        assert section["pause_effect"]["kept_out_by_pause"] == got["policy.pause"]
        assert section["matching"]["kept_out_by_policy"] == {
            k.removeprefix("policy."): n for k, n in sorted(got.items()) if k != "kept_out" and n
        }
    assert report["disclosures"]["total"] == count("disclosure.%", decision="permit")
    assert report["disclosures"]["total"] == CHECK_ANSWERS + MATCH_RESULTS
    assert report["refusals"]["total"] == count("policy.deny") == REFUSALS
    assert report["refusals"]["by_kind"] == {k: REFUSALS // 4 for k in REFUSAL_KINDS}
    assert report["matching"]["adverse_actions"] == ADVERSE
    assert report["matching"]["overturned"] == NOTICES
    assert report["matching"]["error_rate"] == round(NOTICES / ADVERSE, 4)
    assert report["corrections"]["notices"] == NOTICES
    assert report["matching"]["kept_out"] == sum(KEPT_OUT)
    assert report["pause_effect"]["kept_out_by_pause"] == sum(PAUSED)
    # kept out before the door: never among the requests the door refused for a pause
    assert report["pause_effect"]["blocked_by_pause"] == REFUSALS // 4
    assert report["checks"]["contested"] == built["contested"]
    assert report["checks"]["by_outcome"]["referred"] == CHECK_ANSWERS // 5
    assert report["corrections"]["time_to_rectify"]["done"] == count("correction.acknowledge")
    # Counted in SQL, the whole overall report (every agreement's section too) is quick
    # even here; generous, as the machine running the tests may be busy.
    assert took < 30, f"report took {took:.1f} s at {ENTRIES:,} audit entries"
    one = ReportService(s).report(world.principals["officer"], agreement_id=built["agreements"][2])
    assert one["disclosures"]["total"] == MATCH_RESULTS // 2
    print(f"\nreport at {ENTRIES:,} audit entries: overall {took:.2f} s")

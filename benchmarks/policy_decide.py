"""Policy decisions per second and p99 latency with 10, 1,000 and 10,000 active agreements.

The decision core of the one door (``shareguard.policy.engine.Engine``: Cedar via cedarpy,
one parsed policy-set slice per principal organisation — its agreements' permits plus every
forbid) against a plain Python dict-lookup authoriser measured in the same run on the same
requests (same checks: recipient, purpose, data items, date window, three firewall rules and an
over-30 pause). Agreements are built in memory: 10 per recipient organisation, so 10,000
agreements means 1,000 organisations and 1,000 slices.

* single: one ``decide`` call per request, requests spread over every organisation;
  decisions/s and p50/p99 latency.
* batch: one ``decide_many`` call per run of 1,000 requests under one agreement (a match
  run's disclosures), runs spread over organisations; decisions/s.

Requests no policy can tell apart (same principal, agreement, purpose, items, method and person
facts, with ages and times compared only by which side of each policy threshold they fall)
share one Cedar evaluation; every timed pass starts with nothing shared, and the figures say
how many Cedar evaluations were made. ``uncached_*`` forces a Cedar evaluation per request:
the engine's raw cost.

Figures are medians of ``--repeat`` runs. Targets: p99 < 1 ms single; batch >= 10,000/s at
10,000 agreements.

    python benchmarks/policy_decide.py            # 10 / 1,000 / 10,000 agreements (~4 min)
    python benchmarks/policy_decide.py --quick    # fewer requests and repeats

Writes benchmarks/results/policy_decide.json (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from shareguard.accounts.principal import Principal  # noqa: E402
from shareguard.agreements.catalogue import PURPOSES  # noqa: E402
from shareguard.policy.cedar import AgreementTerms, PauseTerms  # noqa: E402
from shareguard.policy.defaults import DEFAULT_FIREWALL  # noqa: E402
from shareguard.policy.engine import Engine  # noqa: E402
from shareguard.policy.types import DisclosureRequest, Subject  # noqa: E402

TARGETS = {"single_p99_ms_max": 1.0, "batch_per_s_min_at_10000": 10_000}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
PER_ORG = 10
CHECK_PURPOSES = [p for p in sorted(PURPOSES) if not PURPOSES[p].enforcement]


def build(n: int, rng: random.Random) -> tuple[list[AgreementTerms], list[PauseTerms]]:
    orgs = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(max(1, n // PER_ORG))]
    agreements = []
    for i in range(n):
        purpose = rng.choice([*CHECK_PURPOSES, "immigration_enforcement"])
        shape = list(PURPOSES[purpose].answer_shape)
        agreements.append(
            AgreementTerms(
                id=uuid.UUID(int=rng.getrandbits(128)),
                reference=f"BENCH-{i:05d}",
                title="benchmark agreement",
                state="active",
                signed_off=True,
                recipients=(orgs[i % len(orgs)],),
                purposes=(purpose,),
                data_items=tuple(rng.sample(shape, k=max(2, len(shape) - 1))),
                bulk=True,
                start_date=TODAY - timedelta(days=365),
                review_date=TODAY + timedelta(days=rng.randint(-10, 365)),
                limit_per_day=None,
            )
        )
    pause = PauseTerms(
        id=uuid.UUID(int=1),
        title="No proactive sharing about people aged over 30",
        reason="benchmark",
        starts_at=NOW - timedelta(days=30),
        agreement_ids=tuple(a.id for a in agreements[:: max(1, n // 10)]),
        actions=("bulk_disclosure",),
        age_over=30,
    )
    return agreements, [pause]


def requests(
    agreements: list[AgreementTerms], count: int, rng: random.Random, *, one: bool = False
) -> list[tuple[DisclosureRequest, AgreementTerms]]:
    out = []
    fixed = rng.choice(agreements)
    for _ in range(count):
        a = fixed if one else rng.choice(agreements)
        items = rng.sample(list(a.data_items), k=rng.randint(1, len(a.data_items)))
        if rng.random() < 0.05:
            items.append("school_census")
        subject = Subject(
            ref=f"p{rng.randrange(10**9)}",
            date_of_birth=date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)),
            categories=frozenset(["pupil"] if rng.random() < 0.05 else []),
        )
        out.append(
            (
                DisclosureRequest(
                    principal=Principal(organisation_id=a.recipients[0]),
                    action="bulk_disclosure" if one else rng.choice(["check", "bulk_disclosure"]),
                    agreement_id=a.id,
                    purpose=a.purposes[0],
                    data_items=tuple(items),
                    subject=subject,
                    check_method="share_code",
                    at=NOW,
                ),
                a,
            )
        )
    return out


class DictAuthoriser:
    """The baseline: the same rules as plain Python over dicts (no policy language)."""

    def __init__(self, agreements: list[AgreementTerms], pauses: list[PauseTerms]) -> None:
        self.by_key = {
            (org, a.id): (set(a.purposes), set(a.data_items), a)
            for a in agreements
            for org in a.recipients
        }
        self.firewall = [
            (set(r.guarded_purposes()), set(r.categories), set(r.data_items))
            for r in DEFAULT_FIREWALL
        ]
        self.pauses = [(set(p.agreement_ids), set(p.actions), p) for p in pauses]

    def decide(self, req: DisclosureRequest) -> bool:
        found = self.by_key.get((req.principal.organisation_id, req.agreement_id))
        if found is None:
            return False
        purposes, items, a = found
        day = (req.at or NOW).date()
        if a.state_problem(day) is not None:
            return False
        if req.purpose not in purposes or not items.issuperset(req.data_items):
            return False
        subject = req.subject
        assert subject is not None
        for guarded, cats, fitems in self.firewall:
            if req.purpose in guarded and (
                cats & subject.categories or fitems & set(req.data_items)
            ):
                return False
        for agreement_ids, actions, p in self.pauses:
            if a.id in agreement_ids and req.action in actions:
                age = subject.age_on(day)
                if age is None or (p.age_over is not None and age > p.age_over):
                    return False
        return True


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_size(n: int, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    rng = random.Random(seed + n)
    agreements, pauses = build(n, rng)
    t0 = time.perf_counter()
    engine = Engine(agreements, DEFAULT_FIREWALL, pauses)
    orgs = sorted({a.recipients[0] for a in agreements})
    for org in orgs:
        engine.slice(org)
    build_s = time.perf_counter() - t0
    baseline = DictAuthoriser(agreements, pauses)
    singles = requests(agreements, args.single, rng)
    runs = [requests(agreements, args.batch, rng, one=True) for _ in range(args.runs)]

    results: dict[str, list[float]] = {
        k: []
        for k in (
            "single_per_s",
            "p50_ms",
            "p99_ms",
            "single_cedar_evaluations",
            "uncached_single_per_s",
            "uncached_p99_ms",
            "batch_per_s",
            "batch_cedar_evaluations",
            "baseline_single_per_s",
            "baseline_p99_ms",
            "baseline_batch_per_s",
        )
    }
    permitted = 0
    for _ in range(args.repeat):
        # Every pass starts with no shared decisions: only repeats within the pass are shared.
        engine._memo.clear()
        calls = engine.cedar_calls
        lat = []
        start = time.perf_counter()
        for req, a in singles:
            t = time.perf_counter()
            d = engine.decide(req, a)
            lat.append(time.perf_counter() - t)
            permitted += d.allowed
        total = time.perf_counter() - start
        results["single_per_s"].append(len(singles) / total)
        results["p50_ms"].append(p(lat, 0.50) * 1e3)
        results["p99_ms"].append(p(lat, 0.99) * 1e3)
        results["single_cedar_evaluations"].append(engine.cedar_calls - calls)

        # The engine's raw cost: a Cedar evaluation for every single request.
        lat = []
        start = time.perf_counter()
        for req, a in singles:
            engine._memo.clear()
            t = time.perf_counter()
            engine.decide(req, a)
            lat.append(time.perf_counter() - t)
        results["uncached_single_per_s"].append(len(singles) / (time.perf_counter() - start))
        results["uncached_p99_ms"].append(p(lat, 0.99) * 1e3)

        engine._memo.clear()
        calls = engine.cedar_calls
        start = time.perf_counter()
        for batch in runs:
            engine._memo.clear()
            engine.decide_many(batch)
        results["batch_per_s"].append(sum(map(len, runs)) / (time.perf_counter() - start))
        results["batch_cedar_evaluations"].append(engine.cedar_calls - calls)

        blat = []
        start = time.perf_counter()
        for req, _a in singles:
            t = time.perf_counter()
            baseline.decide(req)
            blat.append(time.perf_counter() - t)
        results["baseline_single_per_s"].append(len(singles) / (time.perf_counter() - start))
        results["baseline_p99_ms"].append(p(blat, 0.99) * 1e3)
        start = time.perf_counter()
        for batch in runs:
            for req, _a in batch:
                baseline.decide(req)
        results["baseline_batch_per_s"].append(sum(map(len, runs)) / (time.perf_counter() - start))

    med = {k: round(statistics.median(v), 4) for k, v in results.items()}
    # Agreement between the two authorisers on the same requests (a sanity check, not a figure).
    agree = sum(engine.decide(r, a).allowed == baseline.decide(r) for r, a in singles[:2000])
    return {
        "agreements": n,
        "organisations": len(orgs),
        "policies_per_slice": len(engine.policies_for(orgs[0])),
        "build_and_parse_all_slices_s": round(build_s, 3),
        **med,
        "ratio_single_cedar_to_dict": round(med["single_per_s"] / med["baseline_single_per_s"], 4),
        "ratio_uncached_single_cedar_to_dict": round(
            med["uncached_single_per_s"] / med["baseline_single_per_s"], 4
        ),
        "ratio_batch_cedar_to_dict": round(med["batch_per_s"] / med["baseline_batch_per_s"], 4),
        "permit_share": round(permitted / (len(singles) * args.repeat), 3),
        "decisions_agree_with_baseline": f"{agree}/{min(2000, len(singles))}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "policy_decide.json")
    args = parser.parse_args()
    args.single = 2000 if args.quick else 5000
    args.batch = 1000
    args.runs = 3 if args.quick else 10
    args.repeat = 3
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = [run_size(n, args, args.seed) for n in sizes]
    at_max = rows[-1]
    out = {
        "benchmark": "policy_decide",
        "command": "python benchmarks/policy_decide.py" + (" --quick" if args.quick else ""),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "figure": "Cedar decisions per second (single and batch) and single-decision p99",
        "baseline": "plain Python dict-lookup authoriser, same requests, same run",
        "targets": TARGETS,
        "sizes": rows,
        "met": {
            "single_p99_under_1ms": all(r["p99_ms"] < TARGETS["single_p99_ms_max"] for r in rows),
            "batch_at_largest": at_max["batch_per_s"] >= TARGETS["batch_per_s_min_at_10000"],
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    text = json.dumps(out, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

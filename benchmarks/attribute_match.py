"""Attribute-check matching quality: precision of an automatic answer and the referral rate.

A labelled synthetic set (fixed seed): a register of synthetic persons (the demo generator:
Faker names across locales and scripts, Arabic transliteration variants, Cyrillic and Han
originals) and checks typed the way checkers type them — other romanisations, name order
swapped, accents dropped, a typo, a day/month slip, a middle name left out — plus checks for
people who are NOT in the register (same generator, other seed; half of them given the date of
birth of someone who is, to make near-misses likely).

An automatic answer (``confirmed`` or ``not_confirmed``) asserts *who* the person is, so its
precision is the share of automatic answers naming the right person; a check for someone not
in the register must never get one. Everything else is ``referred``.

Baseline, same run: exact matching (normalised full name and date of birth equal, exactly one
person) — what a system without fuzzy matching does. The ratio compares automatic-answer rates.
A threshold sweep shows how ``CONFIRM`` was calibrated.

    python benchmarks/attribute_match.py            # 100,000 persons, 10,000 checks
    python benchmarks/attribute_match.py --quick    # 10,000 persons, 2,000 checks

Writes benchmarks/results/attribute_match.json (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from shareguard.checks import matcher  # noqa: E402
from shareguard.status.demo import _uuid, populate  # noqa: E402
from shareguard.status.names import normalise  # noqa: E402
from shareguard.status.service import StatusService  # noqa: E402
from shareguard.status.synthetic import Generator, perturb  # noqa: E402
from shareguard.storage.db import make_engine, session_factory, unit_of_work  # noqa: E402
from shareguard.storage.models import Base  # noqa: E402

TARGETS = {"precision_min": 0.999}


def build(persons: int, seed: int, path: Path) -> tuple[Any, list[Any], list[uuid.UUID]]:
    engine = make_engine(f"sqlite:///{path}", synchronous="OFF")
    Base.metadata.create_all(engine)
    with unit_of_work(engine) as session:
        populate(session, seed, persons, None, progress=False)
    people = list(Generator(seed).people(persons))
    ids_rng = random.Random(f"{seed}:ids")
    ids = [_uuid(ids_rng) for _ in range(persons)]
    return engine, people, ids


def queries(people: list[Any], ids: list[uuid.UUID], n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}:queries")
    out = []
    outsiders = Generator(seed + 1_000_003)
    for _ in range(n):
        if rng.random() < 0.8:
            i = rng.randrange(len(people))
            given, family, dob, kind = perturb(rng, people[i])
            out.append(
                {"given": given, "family": family, "dob": dob, "kind": kind, "truth": ids[i]}
            )
        else:
            p = outsiders.person()
            dob = rng.choice(people).date_of_birth if rng.random() < 0.5 else p.date_of_birth
            out.append(
                {
                    "given": p.given,
                    "family": p.family,
                    "dob": dob,
                    "kind": "not_registered",
                    "truth": None,
                }
            )
    return out


def run(engine: Any, qs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], float]:
    results = []
    start = time.perf_counter()
    with session_factory(engine)() as session:
        svc = StatusService(session)
        for q in qs:
            cands = svc.candidates(q["given"], q["family"], q["dob"])
            mq = matcher.Query(q["given"], q["family"], q["dob"])
            mc = [
                matcher.Candidate(
                    str(p.id),
                    [(n.given, n.family) for n in p.names],
                    p.date_of_birth,
                    [d.number for d in p.documents],
                    p.nationality,
                )
                for p in cands
            ]
            scores = sorted((matcher.score(mq, c) for c in mc), key=lambda s: -s.score)
            exact = [
                c
                for c in mc
                if c.date_of_birth == q["dob"]
                and any(
                    normalise(f"{g} {f}") == normalise(f"{q['given']} {q['family']}")
                    for g, f in c.names
                )
            ]
            results.append(
                {
                    "q": q,
                    "decision": matcher.decide(mq, mc),
                    "top": [(s.key, s.score) for s in scores[:2]],
                    "exact": exact[0].key if len(exact) == 1 else None,
                    "candidates": len(cands),
                }
            )
            session.expunge_all()
    return results, time.perf_counter() - start


def evaluate(results: list[dict[str, Any]]) -> dict[str, Any]:
    auto = right = outsiders_auto = registered = 0
    base_auto = base_right = 0
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        truth = str(r["q"]["truth"]) if r["q"]["truth"] else None
        registered += truth is not None
        d = r["decision"]
        kind = r["q"]["kind"]
        if d.kind == "unique":
            auto += 1
            right += d.best.key == truth
            outsiders_auto += truth is None
            by_kind[kind]["automatic"] += 1
        else:
            by_kind[kind]["referred"] += 1
        if r["exact"]:
            base_auto += 1
            base_right += r["exact"] == truth
    n = len(results)
    return {
        "checks": n,
        "automatic_answers": auto,
        "precision": right / auto if auto else None,
        "referral_rate": (n - auto) / n,
        "referral_rate_registered": sum(
            1 for r in results if r["q"]["truth"] and r["decision"].kind != "unique"
        )
        / registered,
        "not_registered_given_automatic_answer": outsiders_auto,
        "by_variant": {k: dict(v) for k, v in sorted(by_kind.items())},
        "baseline_exact": {
            "automatic_answers": base_auto,
            "precision": base_right / base_auto if base_auto else None,
            "referral_rate": (n - base_auto) / n,
        },
    }


def sweep(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in (0.88, 0.90, 0.92, 0.93, 0.94, 0.95, 0.96, 0.98):
        auto = right = 0
        for r in results:
            top = [s for s in r["top"] if s[1] >= matcher.WEAK]
            if not top or top[0][1] < t:
                continue
            if len(top) > 1 and top[1][1] >= top[0][1] - matcher.MARGIN:
                continue
            auto += 1
            right += r["q"]["truth"] is not None and top[0][0] == str(r["q"]["truth"])
        n = len(results)
        out.append(
            {
                "threshold": t,
                "precision": right / auto if auto else None,
                "referral_rate": round((n - auto) / n, 4),
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--checks", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats (median)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "attribute_match.json")
    args = ap.parse_args()
    if args.quick:
        args.persons, args.checks = 10_000, 2_000
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        engine, people, ids = build(args.persons, args.seed, Path(tmp) / "register.db")
        seeded = time.perf_counter() - t0
        print(f"seeded {args.persons} persons in {seeded:.0f}s", file=sys.stderr)
        qs = queries(people, ids, args.checks, args.seed)
        timings = []
        for _ in range(max(1, args.repeats)):
            results, seconds = run(engine, qs)
            timings.append(seconds)
            print(f"{args.checks} checks in {seconds:.0f}s", file=sys.stderr)
        engine.dispose()
    quality = evaluate(results)
    base = quality["baseline_exact"]
    report = {
        "benchmark": "attribute_match",
        "command": " ".join(["python", "benchmarks/attribute_match.py", *sys.argv[1:]]),
        "persons": args.persons,
        "seed": args.seed,
        "threshold": matcher.CONFIRM,
        "margin": matcher.MARGIN,
        **{k: v for k, v in quality.items() if k != "baseline_exact"},
        "baseline": {"name": "exact normalised name + date of birth, one person", **base},
        "ratio_automatic_answers_vs_baseline": (
            quality["automatic_answers"] / base["automatic_answers"]
            if base["automatic_answers"]
            else None
        ),
        "targets": TARGETS,
        "meets_target": quality["precision"] is not None
        and quality["precision"] >= TARGETS["precision_min"],
        "threshold_sweep": sweep(results),
        "matching_checks_per_second_median": round(args.checks / statistics.median(timings), 1),
        "mean_candidates": round(statistics.mean(r["candidates"] for r in results), 1),
        "seed_seconds": round(seeded, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

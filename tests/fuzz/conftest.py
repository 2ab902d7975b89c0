"""Counts for the schemathesis run: operations, cases and failures, written as JSON."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAILED: Counter[str] = Counter()
RAN: set[str] = set()
STARTED = time.monotonic()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" or "test_api_as_" not in report.nodeid:
        return
    identity = "partner" if "as_a_partner" in report.nodeid else "staff"
    RAN.add(report.nodeid)
    if report.failed:
        FAILED[identity] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not RAN:
        return
    from tests.fuzz.test_api_fuzz import CASES, EXAMPLES, STATUSES

    report: dict[str, Any] = {
        "examples_per_operation": EXAMPLES,
        "operations": len({op for _, op in CASES}),
        "cases": {w: sum(n for (i, _), n in CASES.items() if i == w) for w in ("partner", "staff")},
        "statuses": dict(sorted(STATUSES.items())),
        "operations_failed": {w: FAILED.get(w, 0) for w in ("partner", "staff")},
        "seconds": round(time.monotonic() - STARTED, 1),
    }
    out = ROOT / "test-artifacts" / "schemathesis.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

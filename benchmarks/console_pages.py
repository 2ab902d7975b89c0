"""Console page times on a built world: every menu page of every role, p50 and p95.

Reads the database the settings name (``SHAREGUARD_DATA_DIR`` or ``SHAREGUARD_DATABASE_URL``),
built beforehand with ``shareguard demo --scale seeds --no-serve`` (or ``--fraction F``). The
app (``shareguard.web.app:create_app``) runs in this process behind Starlette's TestClient, so
what is timed is the route, its queries and the template, not a network. Each demo user signs
in (governance officer, caseworker, reviewer, auditor, and partner users of the DVLA, the NHS
trust and the employer), and every page on their menu (plus the home page) is fetched
``--repeats`` times after one warm-up fetch, cycling through the pages so no page is fetched
twice in a row. The baseline is ``/healthz`` (the same app and client, no database work)
fetched as often in the same run; each page's ratio is its p95 over the baseline's p95.

    python benchmarks/console_pages.py                       # 20 fetches a page
    python benchmarks/console_pages.py --repeats 10 --out benchmarks/results/console_pages.json

Prints JSON; writes it to ``--out`` too when given. The target (issue 20) is p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

USERS = [
    "officer@ho.demo.example",
    "caseworker@ho.demo.example",
    "reviewer@ho.demo.example",
    "auditor@ho.demo.example",
    "partner@dvla.demo.example",
    "partner@nhs.demo.example",
    "partner@brightwork.demo.example",
]
#: Report pages fetched besides the menu, for the roles that see reports.
REPORTS = ["HO-DVLA-001", "HO-HMRC-001", "HO-NHS-001"]
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from shareguard.config import get_settings
    from shareguard.demo.world import DEMO_PASSWORD
    from shareguard.storage.db import get_engine
    from shareguard.web.app import create_app
    from shareguard.web.console.security import STAFF_NAV

    settings = get_settings()
    app = create_app(settings, get_engine())
    pages: dict[str, dict[str, Any]] = {}
    baseline: list[float] = []
    with TestClient(app) as client:
        mounted: set[str] = getattr(app.state, "console_paths", set())
        for user in USERS:
            client.cookies.clear()
            token = _TOKEN.search(client.get("/sign-in").text)
            assert token, "no CSRF token on /sign-in"
            signed = client.post(
                "/sign-in",
                data={
                    "csrf_token": token.group(1),
                    "email": user,
                    "password": DEMO_PASSWORD,
                    "next": "/console",
                },
                follow_redirects=False,
            )
            if signed.status_code != 303:
                raise SystemExit(f"could not sign in as {user}: {signed.status_code}")
            home = client.get("/console").text
            menu = ["/console"] + [
                href
                for _label, href, _roles in STAFF_NAV
                if href in mounted and f'href="{href}"' in home
            ]
            if 'href="/governance/reports"' in home:  # the report pages themselves
                menu += [f"/governance/reports/{ref}" for ref in REPORTS]
            menu = list(dict.fromkeys(menu))
            times: dict[str, list[float]] = {p: [] for p in menu}
            for page in menu:  # warm-up: templates compiled, caches filled
                response = client.get(page)
                if response.status_code != 200:
                    raise SystemExit(f"{user} {page}: {response.status_code}")
            for _ in range(args.repeats):
                for page in menu:
                    start = time.perf_counter()
                    client.get(page)
                    times[page].append(time.perf_counter() - start)
                start = time.perf_counter()
                client.get("/healthz")
                baseline.append(time.perf_counter() - start)
            role = user.split("@")[0] + "@" + user.split("@")[1].split(".")[0]
            for page, values in times.items():
                pages[f"{role} {page}"] = {
                    "p50_ms": _ms(statistics.median(values)),
                    "p95_ms": _ms(_p95(values)),
                }
    base95 = _p95(baseline)
    for row in pages.values():
        row["ratio_to_baseline_p95"] = round(row["p95_ms"] / 1000 / base95, 1)
    slowest = max(pages.items(), key=lambda kv: kv[1]["p95_ms"])
    out = {
        "benchmark": "console_pages",
        "database": settings.url.split("@")[-1],
        "repeats": args.repeats,
        "baseline": {
            "page": "/healthz",
            "p50_ms": _ms(statistics.median(baseline)),
            "p95_ms": _ms(base95),
        },
        "slowest": {"page": slowest[0], **slowest[1]},
        "pages_over_500ms_p95": sorted(p for p, r in pages.items() if r["p95_ms"] > 500),
        "pages": pages,
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

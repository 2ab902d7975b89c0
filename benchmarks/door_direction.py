"""The one door's cost on an outbound check before and after it named both parties.

Each run is a fresh Python process on a temporary SQLite file (``synchronous=NORMAL``): one
outbound agreement, then ``decide()`` N times (distinct persons) and ``disclose()`` + commit
N/3 times, as a share-code check does. The baseline is the same script run against the source
of an earlier commit (``--before REV``, exported with ``git archive``), alternating runs so
machine load hits both alike. Medians over ``--repeats`` runs of each.

    python benchmarks/door_direction.py --before 3c1474c      # the commit before issue 14

Writes benchmarks/results/door_direction.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from before_after import child_json, export_src

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def child(n: int) -> None:
    """One run with whichever ``shareguard`` is first on the path; prints JSON."""
    import time
    import uuid
    from datetime import date, timedelta

    import shareguard.web.app  # noqa: F401  (an import order free of the accounts/audit cycle)
    from shareguard.accounts.principal import Principal
    from shareguard.accounts.service import AccountService
    from shareguard.agreements.schemas import AgreementIn, PartyIn
    from shareguard.agreements.service import AgreementService
    from shareguard.policy import DisclosureRequest, Subject, decide, disclose
    from shareguard.storage.db import make_engine, session_factory
    from shareguard.storage.models import Base

    tmp = Path(tempfile.mkdtemp(prefix="sg-door-run-"))
    engine = make_engine(f"sqlite:///{tmp / 'b.db'}", synchronous="NORMAL")
    Base.metadata.create_all(engine)
    factory = session_factory(engine)
    on = date.today()
    with factory() as s:
        acc = AccountService(s)
        dept = acc.create_organisation("Dept", "government_department")
        agency = acc.create_organisation("Agency", "agency")
        officers = [
            acc.principal_for_user(
                acc.create_user(
                    dept.id, f"o{i}@x.example", "o", ["governance_officer"], "bench-password-1"
                )
            )
            for i in (1, 2)
        ]
        svc = AgreementService(s)
        a = svc.create(
            AgreementIn(
                reference="B-1",
                title="bench",
                purposes=["driving_licence"],
                data_items=["name", "date_of_birth", "lawfully_resident", "valid_until"],
                parties=[
                    PartyIn(organisation="Dept", role="discloser"),
                    PartyIn(organisation="Agency", role="recipient"),
                ],
                legal_gateway_statute="A",
                legal_gateway_section="s",
                lawful_basis="x",
                dpia_reference="d",
                dpia_date=on - timedelta(days=3),
                necessity_statement="n",
                data_standards="d",
                rights_handling="r",
                contact_point="c",
                retention="r",
                retention_rules={
                    "check": "P1Y after check",
                    "request": "P2Y after answer",
                    "inbound": "P2Y after receipt",
                },
                security_measures="s",
                frequency="f",
                limit_per_day=10**9,
                start_date=on - timedelta(days=3),
                review_date=on + timedelta(days=300),
                termination_procedure="t",
                amendment_duty="a",
                decision_maker="d",
            ),
            officers[0],
        )
        svc.transition(a.id, "activate", officers[1])
        s.commit()
        aid = a.id
    partner = Principal(organisation_id=agency.id, roles=frozenset({"partner_user"}))
    items = ("name", "date_of_birth", "lawfully_resident", "valid_until")
    answer = {
        "name": "A B",
        "date_of_birth": "1990-01-01",
        "lawfully_resident": True,
        "valid_until": "2030-01-01",
    }

    def req(i: int) -> DisclosureRequest:
        subject = Subject(ref=str(uuid.UUID(int=i)), date_of_birth=date(1990, 1, 1))
        return DisclosureRequest(
            partner, "check", aid, "driving_licence", items, subject, "share_code"
        )

    out = {}
    with factory() as s:
        for i in range(200):
            decide(s, req(i))
        started = time.perf_counter()
        for i in range(n):
            decide(s, req(i))
        out["decide_us"] = (time.perf_counter() - started) / n * 1e6
        s.rollback()
    started = time.perf_counter()
    for i in range(n // 3):
        with factory() as s:
            disclose(s, req(i), answer, kind="check_answer")
            s.commit()
    out["disclose_commit_us"] = (time.perf_counter() - started) / (n // 3) * 1e6
    engine.dispose()
    print(json.dumps(out))


def run(src: Path, n: int) -> dict[str, float]:
    figures: dict[str, float] = child_json(__file__, src, [str(n)])
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="3c1474c", help="git revision to compare with")
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "door_direction.json")
    args = ap.parse_args()
    if args.child is not None:
        child(args.child)
        return
    with tempfile.TemporaryDirectory(prefix="sg-door-") as tmp:
        before_src, after_src = export_src(args.before, Path(tmp)), ROOT / "src"
        runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for _ in range(args.repeats):
            runs["before"].append(run(before_src, args.n))
            runs["after"].append(run(after_src, args.n))
    med = {
        k: {m: round(statistics.median(r[m] for r in v), 1) for m in v[0]} for k, v in runs.items()
    }
    result = {
        "benchmark": "door_direction",
        "before": args.before,
        "n": args.n,
        "repeats": args.repeats,
        "figure": med["after"],
        "baseline": med["before"],
        "ratio_after_to_before": {
            m: round(med["after"][m] / med["before"][m], 3) for m in med["after"]
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("figure", "baseline", "ratio_after_to_before")}))


if __name__ == "__main__":
    main()

"""The cost of the door on a partner's bulk file: rows per second through ``submit_file``.

Setup: a temporary SQLite database (WAL, ``synchronous=FULL``) with an operator (staff
users), a partner organisation and an active inbound agreement; a CSV of N synthetic rows
(fixed seed) with about 1% malformed rows, 1% rows carrying a firewalled item and a column
the agreement does not cover.

Measured: ``InboundService.submit_file`` in ``quarantine`` mode, committed as the CLI does:
streaming read, per-row checks, one door decision per row (Cedar, batched 500 at a time),
minimising, one audit entry and one disclosure row per row, the unverified records.

Baseline in the same run: ``matching.datasets.import_file`` on a file of the same rows in the
partner-dataset shape (the same streaming reader and per-row checks, written to Parquet: no
door, no database). The ratio says what deciding, auditing and storing each row costs.

Reported figures are medians over ``--repeats`` runs (a fresh database each run).

    python benchmarks/inbound_file.py                 # 20,000 rows x 3 runs
    python benchmarks/inbound_file.py --rows 2000 --repeats 2

Writes benchmarks/results/inbound_file.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GIVEN = ["Ada", "Bea", "Cai", "Dov", "Eli", "Fen", "Gus", "Hal", "Ida", "Jo"]
FAMILY = ["Testa", "Examplar", "Sampleton", "Mockridge", "Fakeley", "Dummet"]


def write_files(folder: Path, rows: int, seed: int) -> tuple[Path, Path]:
    """The partner's file (data-item columns) and the same rows in the dataset shape."""
    rng = random.Random(seed)
    inbound, dataset = folder / "inbound.csv", folder / "dataset.csv"
    with inbound.open("w", newline="") as a, dataset.open("w", newline="") as b:
        wa, wb = csv.writer(a), csv.writer(b)
        wa.writerow(
            ["record_id", "name", "date_of_birth", "address", "postcode", "health_record", "ref"]
        )
        wb.writerow(["record_id", "first_name", "surname", "date_of_birth", "postcode"])
        for i in range(rows):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            dob = date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
            text = dob.isoformat() if rng.random() > 0.01 else dob.strftime("%d/%m/%Y")
            health = "clinic visit" if rng.random() < 0.01 else ""
            postcode = f"ES{rng.randrange(1, 20)} {rng.randrange(1, 9)}AB"
            wa.writerow(
                [f"R{i:07d}", f"{given} {family}", text, f"{i} Test Street", postcode, health, i]
            )
            wb.writerow([f"R{i:07d}", given, family, text, postcode])
    return inbound, dataset


def setup(folder: Path) -> tuple[Any, Any]:
    from shareguard.accounts.service import AccountService
    from shareguard.agreements.schemas import AgreementIn, PartyIn
    from shareguard.agreements.service import AgreementService
    from shareguard.storage.db import make_engine, session_factory
    from shareguard.storage.models import Base

    engine = make_engine(f"sqlite:///{folder / 'bench.db'}", synchronous="FULL")
    Base.metadata.create_all(engine)
    with session_factory(engine)() as session:
        accounts = AccountService(session)
        dept = accounts.create_organisation("Bench Department", "government_department")
        partner = accounts.create_organisation("Bench Partner", "government_department")
        officers = [
            accounts.principal_for_user(
                accounts.create_user(dept.id, f"o{i}@bench.example", f"o{i}", roles, "bench-pw-1")
            )
            for i, roles in enumerate([["governance_officer"], ["governance_officer"]])
        ]
        user = accounts.create_user(
            partner.id, "p@bench.example", "p", ["partner_user"], "bench-pw-1"
        )
        on = date.today()
        svc = AgreementService(session)
        a = svc.create(
            AgreementIn(
                reference="BENCH-IN-001",
                title="Benchmark inbound agreement",
                purposes=["immigration_enforcement"],
                data_items=["name", "date_of_birth", "address", "postcode"],
                parties=[
                    PartyIn(organisation="Bench Partner", role="discloser"),
                    PartyIn(organisation="Bench Department", role="recipient"),
                ],
                bulk=True,
                legal_gateway_statute="Bench Act",
                legal_gateway_section="s.1",
                lawful_basis="Art 6(1)(e)",
                dpia_reference="DPIA",
                dpia_date=on - timedelta(days=10),
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
                limit_per_day=10_000_000,
                start_date=on - timedelta(days=10),
                review_date=on + timedelta(days=300),
                termination_procedure="t",
                amendment_duty="a",
                decision_maker="d",
            ),
            officers[0],
        )
        svc.transition(a.id, "activate", officers[1])
        session.commit()
        principal = accounts.principal_for_user(user)
    return engine, principal


def measure(rows: int, seed: int) -> dict[str, Any]:
    from shareguard.exchange import InboundService
    from shareguard.matching.datasets import import_file, parse_mapping
    from shareguard.storage.db import session_factory

    with tempfile.TemporaryDirectory(prefix="sg-bench-inbound-") as tmp:
        folder = Path(tmp)
        inbound, dataset = write_files(folder, rows, seed)
        engine, principal = setup(folder)
        started = time.perf_counter()
        mapping = parse_mapping(
            [
                "record_id=record_id",
                "first_name=first_name",
                "surname=surname",
                "date_of_birth=date_of_birth",
                "postcode=postcode",
            ]
        )
        base = import_file(
            dataset,
            mapping,
            folder / "out.parquet",
            mode="quarantine",
            quarantine_report=folder / "q.csv",
        )
        baseline_s = time.perf_counter() - started
        started = time.perf_counter()
        with session_factory(engine)() as session:
            out = InboundService(session).submit_file(
                principal, inbound, agreement="BENCH-IN-001", mode="quarantine"
            )
            session.commit()
            counts = (out.batch.accepted, out.batch.refused, out.batch.quarantined)
        door_s = time.perf_counter() - started
        engine.dispose()
    return {
        "door_s": door_s,
        "baseline_s": baseline_s,
        "accepted": counts[0],
        "refused": counts[1],
        "quarantined": counts[2],
        "baseline_rows": base.rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "inbound_file.json")
    args = parser.parse_args()
    runs = [measure(args.rows, args.seed) for _ in range(args.repeats)]
    door = statistics.median(r["door_s"] for r in runs)
    base = statistics.median(r["baseline_s"] for r in runs)
    result = {
        "benchmark": "inbound_file",
        "rows": args.rows,
        "repeats": args.repeats,
        "machine": platform.platform(),
        "python": platform.python_version(),
        "figure": {
            "submit_file_s": round(door, 3),
            "rows_per_s": round(args.rows / door, 1),
            "accepted": runs[0]["accepted"],
            "refused_by_door": runs[0]["refused"],
            "quarantined": runs[0]["quarantined"],
        },
        "baseline": {
            "name": "matching.datasets.import_file on the same rows (no door, no database)",
            "import_s": round(base, 3),
            "rows_per_s": round(args.rows / base, 1),
        },
        "ratio_door_to_baseline_time": round(door / base, 2),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("figure", "baseline", "ratio_door_to_baseline_time")}))


if __name__ == "__main__":
    main()

"""Share-code checks per second over HTTP, with p50/p99 latency, against a bare endpoint.

Setup: a register of N synthetic persons (the demo generator, bulk-inserted), the demo world's
organisations and agreements, and K share codes for right to work, in a SQLite file or (with
``--database-url``) a fresh PostgreSQL database made for the run and dropped after it. The
server is ``shareguard.web.app:create_app`` under uvicorn with ``--workers`` workers (SQLite
with ``synchronous=FULL``): every check is a durable transaction holding the check, the policy
decision, the disclosure record and its audit entry; each worker runs an audit integrator
candidate. The baseline is a bare FastAPI app whose POST endpoint returns a constant JSON
body, served the same way (uvicorn, the same number of workers, no access log), hit with the
same requests in the same run.

Load: ``wrk`` on loopback (2 threads, 16 connections), bounded in time (``--seconds`` per run,
after a warm-up), repeated ``--repeats`` times; the median run is reported. Then, with the
server still up, ``--proof-checks`` checks are made one after another from 4 threads and, for
each, the time from its answer until its audit entry is integrated (the moment
``/api/v1/audit/entries/{id}/proof`` stops answering 202) is measured by polling the database
every 5 ms. Afterwards the audit log is counted: every check row must have its entry.

``--configs`` lists the rows of the table, ``backend:workers`` (``sqlite:1``,
``postgres:2``...); ``--table`` is ``sqlite:1,postgres:1,postgres:2`` (PostgreSQL rows need
``--database-url``, a URL of the server's maintenance database).

    python benchmarks/checks.py                    # 1,000,000 persons (seeding takes minutes)
    python benchmarks/checks.py --quick            # 20,000 persons, shorter runs
    python benchmarks/checks.py --quick --table \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Needs ``wrk`` (``apt-get install wrk``). Writes benchmarks/results/checks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

TARGETS = {
    "sqlite_1_worker_vs_bare_min": 0.5,
    "sqlite_1_worker_p99_ms_max": 20.0,
    "postgres_2_vs_1_workers_min": 1.6,
    "postgres_2_workers_vs_bare_min": 0.5,
    "proof_available_p99_s_max": 1.0,
}
PURPOSE = "right_to_work"

BARE_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.post("/api/v1/checks/share-code")
def check() -> dict:
    return {"check_reference": "00000000-0000-0000-0000-000000000000", "outcome": "confirmed"}
"""

LUA = r"""
local bodies = {BODIES}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/api/v1/checks/share-code",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer TOKEN"},
    bodies[(i % #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d," ..
    "\"status_errors\":%d,\"socket_errors\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, persons: int, codes: int, seed_value: int) -> tuple[str, list[str]]:
    """Create the register at ``url``; returns a partner API key and the JSON bodies of valid
    checks."""
    from sqlalchemy import insert, select, update

    from shareguard.agreements.models import Agreement
    from shareguard.demo.world import seed as seed_world
    from shareguard.status import share_code_digest, sharecodes
    from shareguard.status.demo import _uuid, populate
    from shareguard.status.models import Person, ShareCode
    from shareguard.storage.base import utcnow
    from shareguard.storage.db import make_engine, unit_of_work
    from shareguard.storage.models import Base

    engine = make_engine(url, synchronous="OFF")
    Base.metadata.create_all(engine)
    world = seed_world(engine, seed=seed_value, persons=0)
    with unit_of_work(engine) as session:
        populate(session, seed_value, persons, world.users.get("caseworker"))
        # The benchmark must not hit the agreement's daily limit (a policy refusal).
        session.execute(
            update(Agreement)
            .where(Agreement.reference == "HO-EMP-001")
            .values(limit_per_day=100_000_000)
        )
        rng = random.Random(f"{seed_value}:bench")
        ids_rng = random.Random(f"{seed_value}:ids")
        all_ids = [_uuid(ids_rng) for _ in range(persons)]
        chosen = rng.sample(all_ids[len(all_ids) // 100 :], min(codes, persons))
        dobs = dict(
            session.execute(
                select(Person.id, Person.date_of_birth).where(Person.id.in_(chosen))
            ).all()
        )
        now = utcnow()
        rows, bodies = [], []
        for pid in chosen:
            code = "".join(rng.choice(sharecodes.ALPHABET) for _ in range(sharecodes.LENGTH))
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "created_at": now,
                    "person_id": pid,
                    "purpose": PURPOSE,
                    "code_hash": share_code_digest(code),
                    "expires_at": now + timedelta(days=90),
                    "revoked_at": None,
                    "hint": code[-3:],
                }
            )
            bodies.append(
                json.dumps({"code": code, "date_of_birth": str(dobs[pid]), "purpose": PURPOSE})
            )
        session.execute(insert(ShareCode.__table__), rows)  # type: ignore[arg-type]
        key = world.keys["brightwork"]
    engine.dispose()
    return key, bodies


def serve(
    target: list[str], env: dict[str, str], port: int, workers: int = 1
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            *target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died")
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def wrk(port: int, script: Path, seconds: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    match = re.search(r"RESULT (\{.*\})", out)
    if not match:
        raise RuntimeError(f"wrk gave no result: {out[-500:]}")
    r: dict[str, Any] = json.loads(match.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


def measure(
    name: str,
    target: list[str],
    env: dict[str, str],
    script: Path,
    args: argparse.Namespace,
    workers: int,
    after: Any = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """wrk runs against one server; ``after(port)`` runs while it is still up."""
    port = free_port()
    proc = serve(target, env, port, workers)
    extra: dict[str, Any] = {}
    try:
        warm = wrk(port, script, args.warmup, args.connections)
        runs = [wrk(port, script, args.seconds, args.connections) for _ in range(args.repeats)]
        if after is not None:
            extra = after(port)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    runs_sorted = sorted(runs, key=lambda r: r["rps"])
    median = runs_sorted[len(runs_sorted) // 2]
    summary = {
        "name": name,
        "workers": workers,
        "requests_per_second": round(median["rps"], 1),
        "p50_ms": median["p50_us"] / 1000,
        "p99_ms": median["p99_us"] / 1000,
        "runs_rps": [round(r["rps"], 1) for r in runs],
        "non_2xx": sum(r["status_errors"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        **extra,
    }
    return summary, [warm, *runs]


def proof_latency(url: str, key: str, bodies: list[str], port: int, n: int) -> dict[str, Any]:
    """Seconds from each check's answer until its audit entry is integrated (its proof 200)."""
    import threading
    import urllib.request

    from sqlalchemy import text

    from shareguard.storage.db import make_engine

    engine = make_engine(url)
    waits: list[float] = []
    lock = threading.Lock()

    def one(body: str) -> None:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/checks/share-code",
            data=body.encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            answer = json.loads(r.read())
        answered = time.perf_counter()
        entry = answer["audit_entry_id"]
        if url.startswith("sqlite"):
            entry = uuid.UUID(entry).hex
        with engine.connect() as conn:
            while True:
                seq = conn.execute(
                    text("SELECT seq FROM audit_entries WHERE id = :i"), {"i": entry}
                ).scalar()
                conn.rollback()
                if seq is not None:
                    break
                if time.perf_counter() - answered > 60:
                    raise RuntimeError("an entry was not integrated within a minute")
                time.sleep(0.005)
        with lock:
            waits.append(time.perf_counter() - answered)

    def worker(k: int) -> None:
        for i in range(k, n, 4):
            one(bodies[i % len(bodies)])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    waits.sort()
    return {
        "proof_available_s": {
            "checks": len(waits),
            "median": round(statistics.median(waits), 3),
            "p99": round(waits[max(0, int(len(waits) * 0.99) - 1)], 3),
            "max": round(waits[-1], 3),
        }
    }


def count_audit(url: str) -> dict[str, Any]:
    """Check rows, how many have their audit entry, and the log's integrated state."""
    from sqlalchemy import func, select

    from shareguard.audit.integrator import catch_up
    from shareguard.audit.models import AuditEntry
    from shareguard.checks.models import Check
    from shareguard.storage.db import make_engine, unit_of_work

    engine = make_engine(url)
    with unit_of_work(engine) as session:
        left = catch_up(session)
    with engine.connect() as conn:
        # Each check row names the audit entry written in its transaction.
        audited = (
            conn.scalar(
                select(func.count())
                .select_from(Check)
                .join(AuditEntry, AuditEntry.id == Check.audit_entry_id)
            )
            or 0
        )
        checks = conn.scalar(select(func.count()).select_from(Check)) or 0
        entries = conn.scalar(select(func.count()).select_from(AuditEntry)) or 0
        top = conn.scalar(select(func.max(AuditEntry.seq))) or 0
    engine.dispose()
    return {
        "check_rows": int(checks),
        "checks_with_their_audit_entry": int(audited),
        "entries": int(entries),
        "gap_free": int(top) + 1 == int(entries) and left == 0,
    }


def make_database(admin_url: str) -> str:
    """A fresh PostgreSQL database for the run; returns its URL."""
    from sqlalchemy import create_engine, text

    name = f"sg_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def run_config(backend: str, workers: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """One row of the table: seed, the bare endpoint and shareguard with ``workers`` each."""
    data_dir = work / f"{backend}-{workers}"
    data_dir.mkdir(parents=True, exist_ok=True)
    if backend == "postgres":
        if not args.database_url:
            sys.exit("postgres rows need --database-url (the server's maintenance database)")
        url = make_database(args.database_url)
    else:
        url = f"sqlite:///{data_dir / 'shareguard.db'}"
    try:
        started = time.perf_counter()
        key, bodies = seed(url, args.persons, args.codes, args.seed)
        seed_seconds = time.perf_counter() - started
        script = data_dir / "check.lua"
        lua_bodies = ",".join(json.dumps(b) for b in bodies)
        script.write_text(LUA.replace("{BODIES}", "{" + lua_bodies + "}").replace("TOKEN", key))
        (data_dir / "bare_app.py").write_text(BARE_APP)
        env = {
            **os.environ,
            "SHAREGUARD_DATA_DIR": str(data_dir),
            "SHAREGUARD_DATABASE_URL": url,
            "SHAREGUARD_MODE": "demo",
            "SHAREGUARD_SQLITE_SYNCHRONOUS": "FULL",
            "PYTHONPATH": f"{data_dir}{os.pathsep}{ROOT / 'src'}",
        }
        bare, _ = measure(
            "bare FastAPI endpoint (constant JSON)",
            ["bare_app:app"],
            env,
            script,
            args,
            workers,
        )
        sg, raw = measure(
            "shareguard share-code check",
            ["--factory", "shareguard.web.app:create_app"],
            env,
            script,
            args,
            workers,
            after=lambda port: proof_latency(url, key, bodies, port, args.proof_checks),
        )
        audit = count_audit(url)
        audit["successful_checks"] = sum(r["requests"] - r["status_errors"] for r in raw) + (
            args.proof_checks
        )
        audit["one_entry_per_check"] = (
            audit["checks_with_their_audit_entry"] == audit["check_rows"]
            and audit["check_rows"] >= audit["successful_checks"]
        )
    finally:
        if backend == "postgres":
            drop_database(args.database_url, url)
    return {
        "backend": backend,
        "workers": workers,
        "figure": sg,
        "baseline": bare,
        "ratio_throughput": round(sg["requests_per_second"] / bare["requests_per_second"], 3),
        "audit": audit,
        "seed_seconds": round(seed_seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--codes", type=int, default=5_000)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--database-url", default=None, help="PostgreSQL maintenance database URL")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers (default row only)")
    ap.add_argument("--configs", default=None, help="rows: backend:workers,... (e.g. sqlite:1)")
    ap.add_argument("--table", action="store_true", help="sqlite:1,postgres:1,postgres:2")
    ap.add_argument("--proof-checks", type=int, default=200)
    ap.add_argument("--keep", type=Path, default=None, help="keep the data dirs here")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "checks.json")
    args = ap.parse_args()
    if args.quick:
        args.persons, args.codes, args.seconds, args.repeats = 20_000, 2_000, 5, 3
    if not shutil.which("wrk"):
        sys.exit("needs wrk: apt-get install wrk")
    configs = args.configs or (
        "sqlite:1,postgres:1,postgres:2"
        if args.table
        else f"{'postgres' if args.database_url else 'sqlite'}:{args.workers}"
    )
    rows = [(c.split(":")[0], int(c.split(":")[1])) for c in configs.split(",")]
    tmp = tempfile.TemporaryDirectory()
    work = args.keep or Path(tmp.name)
    load_start = os.getloadavg()
    results = [run_config(backend, workers, args, work) for backend, workers in rows]
    by = {(r["backend"], r["workers"]): r for r in results}
    verdict: dict[str, Any] = {}
    if ("sqlite", 1) in by:
        r = by[("sqlite", 1)]
        verdict["sqlite_1_worker_vs_bare"] = (
            r["ratio_throughput"] >= TARGETS["sqlite_1_worker_vs_bare_min"]
        )
        verdict["sqlite_1_worker_p99"] = (
            r["figure"]["p99_ms"] < TARGETS["sqlite_1_worker_p99_ms_max"]
        )
    if ("postgres", 1) in by and ("postgres", 2) in by:
        one, two = by[("postgres", 1)], by[("postgres", 2)]
        scale = two["figure"]["requests_per_second"] / one["figure"]["requests_per_second"]
        verdict["postgres_2_vs_1_workers"] = round(scale, 3)
        verdict["postgres_2_vs_1_workers_met"] = scale >= TARGETS["postgres_2_vs_1_workers_min"]
        verdict["postgres_2_workers_vs_bare_met"] = (
            two["ratio_throughput"] >= TARGETS["postgres_2_workers_vs_bare_min"]
        )
    verdict["proof_available_p99_met"] = all(
        r["figure"]["proof_available_s"]["p99"] <= TARGETS["proof_available_p99_s_max"]
        for r in results
    )
    report = {
        "benchmark": "checks",
        "command": " ".join(["python", "benchmarks/checks.py", *sys.argv[1:]]),
        "persons": args.persons,
        "share_codes": args.codes,
        "connections": args.connections,
        "seconds_per_run": args.seconds,
        "repeats": args.repeats,
        "durability": "SQLite WAL synchronous=FULL / PostgreSQL synchronous_commit=on; "
        "one transaction per check",
        "rows": results,
        "targets": TARGETS,
        "verdict": verdict,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    for r in results:
        f, b = r["figure"], r["baseline"]
        print(
            f"{r['backend']:8} {r['workers']} worker(s): {f['requests_per_second']:8.1f} checks/s "
            f"p50 {f['p50_ms']:.1f} ms p99 {f['p99_ms']:.1f} ms | bare "
            f"{b['requests_per_second']:8.1f} req/s | ratio {r['ratio_throughput']:.3f} | proof "
            f"p99 {f['proof_available_s']['p99']:.3f} s",
            file=sys.stderr,
        )
    tmp.cleanup()


if __name__ == "__main__":
    main()

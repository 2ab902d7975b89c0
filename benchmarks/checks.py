"""Share-code checks per second over HTTP, with p50/p99 latency, against a bare endpoint.

Setup: a register of N synthetic persons (the demo generator, bulk-inserted), the demo world's
organisations and agreements, and K share codes for right to work. The server is
``shareguard.web.app:create_app`` under uvicorn with one worker on SQLite with
``synchronous=FULL``: every check is a durable transaction holding the check, the policy
decision, the disclosure record and its audit entry. The baseline is a bare FastAPI app whose
POST endpoint returns a constant JSON body, served the same way (uvicorn, one worker, no access
log), hit with the same requests in the same run.

Load: ``wrk`` on loopback (2 threads, 16 connections), bounded in time (``--seconds`` per run,
after a warm-up), repeated ``--repeats`` times; the median run is reported. Afterwards the
audit log is counted: it must hold one ``check.share_code`` entry per successful check.

    python benchmarks/checks.py                    # 1,000,000 persons (seeding takes minutes)
    python benchmarks/checks.py --quick            # 20,000 persons, shorter runs

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

TARGETS = {"throughput_vs_bare_min": 0.5, "p99_ms_max": 20.0}
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


def seed(data_dir: Path, persons: int, codes: int, seed_value: int) -> tuple[str, list[str]]:
    """Create the register; returns a partner API key and the JSON bodies of valid checks."""
    from sqlalchemy import insert, select, update

    from shareguard.agreements.models import Agreement
    from shareguard.demo.world import seed as seed_world
    from shareguard.status import sharecodes
    from shareguard.status.demo import _uuid, populate
    from shareguard.status.models import Person, ShareCode
    from shareguard.status.service import _secret
    from shareguard.storage.base import utcnow
    from shareguard.storage.db import make_engine, session_factory
    from shareguard.storage.models import Base

    engine = make_engine(f"sqlite:///{data_dir / 'shareguard.db'}", synchronous="OFF")
    Base.metadata.create_all(engine)
    with session_factory(engine)() as session:
        world = seed_world(session, seed=seed_value, persons=0)
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
                    "code_hash": sharecodes.code_hash(code, _secret()),
                    "expires_at": now + timedelta(days=90),
                    "revoked_at": None,
                    "hint": code[-3:],
                }
            )
            bodies.append(
                json.dumps({"code": code, "date_of_birth": str(dobs[pid]), "purpose": PURPOSE})
            )
        session.execute(insert(ShareCode.__table__), rows)  # type: ignore[arg-type]
        session.commit()
        key = world.keys["brightwork"]
    engine.dispose()
    return key, bodies


def serve(target: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
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
            "1",
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
    name: str, target: list[str], env: dict[str, str], script: Path, args: argparse.Namespace
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    port = free_port()
    proc = serve(target, env, port)
    try:
        warm = wrk(port, script, args.warmup, args.connections)
        runs = [wrk(port, script, args.seconds, args.connections) for _ in range(args.repeats)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    runs_sorted = sorted(runs, key=lambda r: r["rps"])
    median = runs_sorted[len(runs_sorted) // 2]
    summary = {
        "name": name,
        "requests_per_second": round(median["rps"], 1),
        "p50_ms": median["p50_us"] / 1000,
        "p99_ms": median["p99_us"] / 1000,
        "runs_rps": [round(r["rps"], 1) for r in runs],
        "non_2xx": sum(r["status_errors"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
    }
    return summary, [warm, *runs]


def count_audit(data_dir: Path) -> tuple[int, int]:
    from sqlalchemy import func, select

    from shareguard.audit.models import AuditEntry
    from shareguard.checks.models import Check
    from shareguard.storage.db import make_engine

    engine = make_engine(f"sqlite:///{data_dir / 'shareguard.db'}")
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
    engine.dispose()
    return int(audited), int(checks)


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
    ap.add_argument("--keep", type=Path, default=None, help="reuse/keep the data dir here")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "checks.json")
    args = ap.parse_args()
    if args.quick:
        args.persons, args.codes, args.seconds, args.repeats = 20_000, 2_000, 5, 3
    if not shutil.which("wrk"):
        sys.exit("needs wrk: apt-get install wrk")
    tmp = tempfile.TemporaryDirectory()
    data_dir = args.keep or Path(tmp.name)
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    key, bodies = seed(data_dir, args.persons, args.codes, args.seed)
    seed_seconds = time.perf_counter() - started
    script = data_dir / "check.lua"
    lua_bodies = ",".join(json.dumps(b) for b in bodies)
    script.write_text(LUA.replace("{BODIES}", "{" + lua_bodies + "}").replace("TOKEN", key))
    (data_dir / "bare_app.py").write_text(BARE_APP)
    env = {
        **os.environ,
        "SHAREGUARD_DATA_DIR": str(data_dir),
        "SHAREGUARD_MODE": "demo",
        "SHAREGUARD_SQLITE_SYNCHRONOUS": "FULL",
        "SHAREGUARD_CHECKPOINT_INTERVAL": "0",
        "PYTHONPATH": f"{data_dir}{os.pathsep}{ROOT / 'src'}",
    }
    env.pop("SHAREGUARD_DATABASE_URL", None)
    bare, _ = measure("bare FastAPI endpoint (constant JSON)", ["bare_app:app"], env, script, args)
    sg, raw = measure(
        "shareguard share-code check",
        ["--factory", "shareguard.web.app:create_app"],
        env,
        script,
        args,
    )
    ok = sum(r["requests"] - r["status_errors"] for r in raw)
    audited, checks = count_audit(data_dir)
    report = {
        "benchmark": "checks",
        "command": " ".join(["python", "benchmarks/checks.py", *sys.argv[1:]]),
        "persons": args.persons,
        "share_codes": len(bodies),
        "connections": args.connections,
        "seconds_per_run": args.seconds,
        "repeats": args.repeats,
        "durability": "SQLite WAL, synchronous=FULL, one transaction per check",
        "figure": sg,
        "baseline": bare,
        "ratio_throughput": round(sg["requests_per_second"] / bare["requests_per_second"], 3),
        "targets": TARGETS,
        "meets_targets": {
            "throughput": sg["requests_per_second"]
            >= TARGETS["throughput_vs_bare_min"] * bare["requests_per_second"],
            "p99": sg["p99_ms"] < TARGETS["p99_ms_max"],
        },
        "audit": {
            "successful_checks": ok,
            "check_rows": checks,
            "checks_with_their_audit_entry": audited,
            "one_entry_per_check": audited == checks and checks >= ok,
        },
        "seed_seconds": round(seed_seconds, 1),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    tmp.cleanup()


if __name__ == "__main__":
    main()

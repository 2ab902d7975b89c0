"""Audit log: durable appends per second, proof latency, bytes per entry; pymerkle as baseline.

What is measured (SQLite, WAL, ``synchronous=FULL`` — every commit reaches the disk):

* **durable appends/s** for batch sizes 1, 64 and 1,024 with ``--log-size`` entries already in
  the log, in two parts, as they now happen: the caller's ``append_many(session, batch)`` +
  ``commit()`` (canonical JSON of reasons and details, the INSERT, the fsync), then the
  integrator's ``integrate(session, 256)`` + ``commit()`` over what was written (reading the
  pending rows, numbering, leaf hashes, the Merkle frontier, the UPDATEs and node INSERTs, the
  fsync). Reported: each part's rate and the end-to-end rate (both parts' time per entry
  added). Median of ``--repeats`` runs.
* **baseline**, in the same run: ``pymerkle.InmemoryTree`` appending the same entry bytes in
  memory (no disk, no database). Target: batched durable appends ≥ 1.0× its rate.
* **proof latency** (inclusion and consistency, from stored subtree hashes, including the
  SQL reads) at ``--log-size`` and at each ``--proof-sizes``; median and p99 over random
  indexes. Target: < 1 ms at 10M entries. The 10M log for proofs is synthetic: minimal entry
  rows with hash-only leaves and their subtree hashes, bulk-built with sqlite3 (a proof reads
  only hashes, so its cost does not depend on the entries' content).
* **bytes per entry beyond the payload**: SQLite ``dbstat`` page bytes of the log's own
  structures (leaf hash column, stored subtree hashes, head) per entry, found by copying the
  entries' payload columns into a table of the same shape without the leaf hash.
  Target: ≤ 200 bytes.

    python benchmarks/audit_append.py                    # 1M-entry log (+ a 10M proof log)
    python benchmarks/audit_append.py --quick            # 20k-entry log, small runs
    python benchmarks/audit_append.py --proof-sizes 0    # skip the synthetic big log
    python benchmarks/audit_append.py --prebuilt         # don't time building the records

Writes benchmarks/results/audit_append.json (``--out`` to change).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from shareguard.audit import AuditRecord, append_many, merkle  # noqa: E402
from shareguard.audit.log import StoredTree, canonical_json, integrate, node_pos  # noqa: E402
from shareguard.storage.db import make_engine, session_factory  # noqa: E402
from shareguard.storage.models import Base  # noqa: E402

TARGETS = {"batched_vs_pymerkle_min": 1.0, "proof_ms_at_10m_max": 1.0, "overhead_bytes_max": 200}
ORG, AGREEMENT = uuid.UUID(int=1), uuid.UUID(int=2)


def record(i: int) -> AuditRecord:
    """A realistic check entry: ids and codes only, as callers write them."""
    return AuditRecord(
        action="check.share_code",
        actor_org_id=ORG,
        actor_user_id=None,
        agreement_id=AGREEMENT,
        purpose="right_to_work",
        subject_ref=str(uuid.UUID(int=i + 10**9)),
        decision="permit",
        reasons=("agreement in force",),
        payload_hash=hashlib.sha256(str(i).encode()).hexdigest(),
        details={"outcome": "confirmed", "check_method": "share_code", "n": i},
    )


def entry_bytes_like(i: int) -> bytes:
    r = record(i)
    return canonical_json(
        {
            "v": 1,
            "seq": i,
            "action": r.action,
            "actor_org_id": str(ORG),
            "agreement_id": str(AGREEMENT),
            "purpose": r.purpose,
            "subject_ref": r.subject_ref,
            "decision": r.decision,
            "reasons": list(r.reasons),
            "payload_hash": r.payload_hash,
            "details": dict(r.details),
            "at": "2026-01-01T00:00:00.000000+00:00",
        }
    )


# -- baseline ---------------------------------------------------------------------------
def pymerkle_rate(n: int, repeats: int) -> float:
    from pymerkle import InmemoryTree

    data = [entry_bytes_like(i) for i in range(n)]
    rates = []
    for _ in range(repeats):
        tree = InmemoryTree(algorithm="sha256")
        t = time.perf_counter()
        for d in data:
            tree.append_entry(d)
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


# -- the stored log -----------------------------------------------------------------------
def fill(url: str, n: int) -> float:
    """Fill the log to n entries through append_many (synchronous=OFF: setup, not measured)."""
    engine = make_engine(url, synchronous="OFF")
    Base.metadata.create_all(engine)
    t = time.perf_counter()
    with session_factory(engine)() as s:
        done = StoredTree(s).size()
        while done < n:
            k = min(20_000, n - done)
            append_many(s, [record(done + i) for i in range(k)])
            s.commit()
            integrate(s)
            s.commit()
            done += k
            if done % 200_000 == 0:
                print(f"  filled {done:,}", file=sys.stderr, flush=True)
    engine.dispose()
    return time.perf_counter() - t


def durable_rates(
    url: str,
    batch_sizes: list[int],
    budget_s: float,
    repeats: int,
    prebuilt: bool = False,
    integrate_batch: int = 256,
) -> dict[str, Any]:
    """Entries/s of ``append_many`` + ``commit`` (building the records counts too unless
    ``prebuilt``: then each batch's records are built before its clock starts, as the pymerkle
    baseline's entry bytes are), of integrating them, and of both."""
    engine = make_engine(url, synchronous="FULL")
    out: dict[str, Any] = {}
    with session_factory(engine)() as s:
        for b in batch_sizes:
            appends, integrations, both = [], [], []
            for _ in range(repeats):
                base = StoredTree(s).size()
                s.commit()
                batches = 0
                timed = 0.0
                t = time.perf_counter()
                while time.perf_counter() - t < budget_s or batches < 3:
                    if prebuilt:
                        batch = [record(base + batches * b + i) for i in range(b)]
                        t0 = time.perf_counter()
                        append_many(s, batch)
                        s.commit()
                        timed += time.perf_counter() - t0
                    else:
                        append_many(s, [record(base + batches * b + i) for i in range(b)])
                        s.commit()
                    batches += 1
                n = batches * b
                append_s = timed if prebuilt else time.perf_counter() - t
                t = time.perf_counter()
                done = 0
                while done < n:
                    done += integrate(s, integrate_batch) or 0
                    s.commit()
                integrate_s = time.perf_counter() - t
                assert StoredTree(s).size() == base + n
                s.commit()
                appends.append(n / append_s)
                integrations.append(n / integrate_s)
                both.append(n / (append_s + integrate_s))
            out[str(b)] = {
                "entries_per_s": round(statistics.median(both)),
                "append_entries_per_s": round(statistics.median(appends)),
                "integrate_entries_per_s": round(statistics.median(integrations)),
                "runs": [round(r) for r in both],
            }
            print(
                f"  batch {b}: {out[str(b)]['entries_per_s']:,} entries/s end to end "
                f"(append {out[str(b)]['append_entries_per_s']:,}/s, "
                f"integrate {out[str(b)]['integrate_entries_per_s']:,}/s)",
                file=sys.stderr,
                flush=True,
            )
    engine.dispose()
    return out


def proof_latency(url: str, samples: int, seed: int = 7) -> dict[str, Any]:
    engine = make_engine(url, synchronous="FULL")
    rng = random.Random(seed)
    with session_factory(engine)() as s:
        tree = StoredTree(s)
        n = tree.size()
        inc, con = [], []
        for _ in range(samples):
            i = rng.randrange(n)
            t = time.perf_counter()
            tree.inclusion_proof(i, n)
            inc.append(time.perf_counter() - t)
            m = rng.randrange(1, n)
            t = time.perf_counter()
            tree.consistency_proof(m, n)
            con.append(time.perf_counter() - t)
        # Spot check against the pure functions would need every leaf; check one proof instead.
        i = rng.randrange(n)
        proof = tree.inclusion_proof(i, n)
        assert merkle.verify_inclusion(tree.leaf_hash(i), i, n, proof, tree.root(n))
    engine.dispose()

    def summary(xs: list[float]) -> dict[str, float]:
        xs = sorted(xs)
        return {
            "median_ms": round(statistics.median(xs) * 1e3, 4),
            "p99_ms": round(xs[int(len(xs) * 0.99) - 1] * 1e3, 4),
        }

    return {
        "tree_size": n,
        "samples": samples,
        "inclusion": summary(inc),
        "consistency": summary(con),
    }


def overhead_bytes(path: Path) -> dict[str, Any]:
    """Page bytes of the log's own structures per entry (SQLite dbstat)."""
    con = sqlite3.connect(path)
    cols = (
        "at DATETIME, action VARCHAR(80), actor_org_id CHAR(32), "
        "actor_user_id CHAR(32), agreement_id CHAR(32), purpose VARCHAR(60), "
        "subject_ref VARCHAR(64), decision VARCHAR(20), reasons JSON, payload_hash VARCHAR(64), "
        "details JSON"
    )
    con.execute("DROP TABLE IF EXISTS bench_payload_only")
    con.execute(f"CREATE TABLE bench_payload_only ({cols})")
    names = ", ".join(c.split()[0] for c in cols.split(", "))
    con.execute(f"INSERT INTO bench_payload_only SELECT {names} FROM audit_entries")
    con.commit()
    sizes = dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    n = con.execute("SELECT COUNT(*) FROM audit_entries").fetchone()[0]
    con.execute("DROP TABLE bench_payload_only")
    con.commit()
    con.close()
    # The entry's id and seq (and their indexes), its leaf hash, the stored subtree hashes.
    indexes = sum(v for k, v in sizes.items() if k.startswith("sqlite_autoindex_audit_entries"))
    pending = sizes.get("ix_audit_entries_pending", 0)
    log_bytes = (
        sizes["audit_entries"]
        - sizes["bench_payload_only"]
        + indexes
        + pending
        + sizes.get("audit_nodes", 0)
        + sizes.get("audit_head", 0)
    )
    return {
        "entries": n,
        "bytes_per_entry": round(log_bytes / n, 1),
        "parts_bytes_per_entry": {
            "id_seq_leaf_hash_in_entry_rows": round(
                (sizes["audit_entries"] - sizes["bench_payload_only"]) / n, 1
            ),
            "id_and_seq_indexes": round((indexes + pending) / n, 1),
            "stored_subtree_hashes": round(sizes.get("audit_nodes", 0) / n, 1),
        },
        "payload_bytes_per_entry": round(sizes["bench_payload_only"] / n, 1),
    }


def synthetic_log(path: Path, n: int) -> float:
    """A log of n hash-only entries with every complete subtree stored, built with sqlite3."""
    engine = make_engine(f"sqlite:///{path}", synchronous="OFF")
    Base.metadata.create_all(engine)
    engine.dispose()
    t = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA journal_mode=WAL")
    at = "2026-01-01 00:00:00.000000"
    stack: list[bytes] = []
    chunk = 200_000
    sha = hashlib.sha256
    for start in range(0, n, chunk):
        rows, nodes = [], []
        for seq in range(start, min(n, start + chunk)):
            h = sha(b"\x00" + seq.to_bytes(8, "big")).digest()
            rows.append((f"{seq:032x}", seq, at, "x", "[]", "{}", h))
            level, j = 0, seq
            while j & 1:
                h = sha(b"\x01" + stack.pop() + h).digest()
                level += 1
                j >>= 1
                nodes.append((node_pos(level, j), h))
            stack.append(h)
        con.executemany(
            "INSERT INTO audit_entries (id, seq, at, action, reasons, details, leaf_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.executemany("INSERT INTO audit_nodes (pos, hash) VALUES (?, ?)", nodes)
        con.commit()
        if (start // chunk) % 10 == 9:
            print(f"  synthetic {start + chunk:,}", file=sys.stderr, flush=True)
    con.execute("INSERT INTO audit_head (id, size) VALUES (1, ?)", (n,))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20k-entry log, short runs")
    ap.add_argument(
        "--log-size", type=int, default=None, help="Entries in the log (default 1,000,000)"
    )
    ap.add_argument(
        "--proof-sizes",
        default=None,
        help="Comma-separated synthetic log sizes for proof latency (default 10000000; 0 = none)",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--prebuilt",
        action="store_true",
        help="Build each batch's AuditRecords before its clock starts (default: timed too)",
    )
    ap.add_argument(
        "--dir", type=Path, default=None, help="Where the databases go (default: a temp dir)"
    )
    ap.add_argument("--out", type=Path, default=HERE / "results" / "audit_append.json")
    args = ap.parse_args()
    log_size = args.log_size or (20_000 if args.quick else 1_000_000)
    proof_sizes = [
        int(x)
        for x in (args.proof_sizes or ("0" if args.quick else "10000000")).split(",")
        if int(x) > 0
    ]
    budget = 1.0 if args.quick else 4.0
    work = args.dir or Path(tempfile.mkdtemp(prefix="sg-audit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "audit.db"
    url = f"sqlite:///{db}"

    result: dict[str, Any] = {
        "benchmark": "audit_append",
        "command": "python " + " ".join(["benchmarks/audit_append.py", *sys.argv[1:]]),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "sqlite": sqlite3.sqlite_version,
        },
        "settings": {
            "journal_mode": "WAL",
            "synchronous": "FULL",
            "log_size": log_size,
            "repeats": args.repeats,
            "seconds_per_run": budget,
            "records_built_outside_the_clock": args.prebuilt,
        },
        "targets": TARGETS,
    }
    print(
        f"baseline: pymerkle in-memory appends ({log_size if args.quick else 200_000:,})",
        file=sys.stderr,
    )
    base = pymerkle_rate(20_000 if args.quick else 200_000, args.repeats)
    result["baseline"] = {
        "name": "pymerkle.InmemoryTree.append_entry (in memory, no disk)",
        "entries_per_s": round(base),
    }
    print(f"  {base:,.0f} entries/s", file=sys.stderr)

    if not db.exists() or stored_size(url) < log_size:
        print(f"filling the log to {log_size:,} entries", file=sys.stderr)
        result["fill_seconds"] = round(fill(url, log_size), 1)
    print("durable appends", file=sys.stderr)
    rates = durable_rates(url, [1, 64, 1024], budget, args.repeats, args.prebuilt)
    result["durable_appends"] = rates
    best_batched = max(rates["64"]["entries_per_s"], rates["1024"]["entries_per_s"])
    result["ratio_batched_vs_pymerkle"] = round(best_batched / base, 3)
    result["ratio_by_batch"] = {b: round(r["entries_per_s"] / base, 3) for b, r in rates.items()}
    print("proof latency", file=sys.stderr)
    proofs = [proof_latency(url, 200 if args.quick else 1000)]
    print("bytes per entry", file=sys.stderr)
    result["overhead"] = overhead_bytes(db)
    for n in proof_sizes:
        big = work / f"synthetic-{n}.db"
        if not big.exists():
            print(f"building a synthetic {n:,}-entry log for proof latency", file=sys.stderr)
            secs = synthetic_log(big, n)
            print(f"  built in {secs:.0f}s", file=sys.stderr)
        p = proof_latency(f"sqlite:///{big}", 1000)
        p["synthetic"] = True
        proofs.append(p)
    result["proofs"] = proofs
    largest = proofs[-1]
    worst = max(largest["inclusion"]["median_ms"], largest["consistency"]["median_ms"])
    result["verdict"] = {
        "batched_vs_pymerkle": result["ratio_batched_vs_pymerkle"]
        >= TARGETS["batched_vs_pymerkle_min"],
        f"proof_median_ms_at_{largest['tree_size']}": worst,
        "proof_under_1ms": worst < TARGETS["proof_ms_at_10m_max"],
        "overhead_ok": result["overhead"]["bytes_per_entry"] <= TARGETS["overhead_bytes_max"],
    }
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(result, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)


def stored_size(url: str) -> int:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with session_factory(engine)() as s:
        n = StoredTree(s).size()
    engine.dispose()
    return n


if __name__ == "__main__":
    main()

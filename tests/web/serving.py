"""Real `shareguard serve` processes against the test database, and partners checking them.

Used by the several-process and crash tests: each process is a subprocess with its own
integrator candidate; checks go over HTTP; afterwards the log is checked from here.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry
from shareguard.audit.log import StoredTree
from shareguard.audit.service import AuditService
from shareguard.config import Settings, get_settings
from tests.factories import bearer, integrated

SHAREGUARD = str(Path(sys.executable).with_name("shareguard"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One `shareguard serve` process."""

    engine: Engine
    data_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def start(self, timeout: float = 180.0) -> Server:
        url = self.engine.url.render_as_string(hide_password=False)
        env = {
            **os.environ,
            # Mode and secret as this process has them: share codes are keyed by the secret.
            "SHAREGUARD_MODE": get_settings().mode,
            "SHAREGUARD_SECRET_KEY": get_settings().secret_key,
            "SHAREGUARD_DATA_DIR": str(self.data_dir),
            "SHAREGUARD_DATABASE_URL": url,
            "SHAREGUARD_SQLITE_SYNCHRONOUS": "FULL",
            "SHAREGUARD_INTEGRATE_INTERVAL": "0.05",
            "SHAREGUARD_CHECKPOINT_INTERVAL": "1",
        }
        self.log = self.data_dir / f"serve-{self.port}.log"
        self.proc = subprocess.Popen(
            [SHAREGUARD, "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("serve did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop as an operator would (SIGTERM: requests finish, the integrator stops)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, mid-transaction or mid-batch."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)


@dataclass
class Checker:
    """Partners checking share codes against servers from several threads."""

    key: str
    bodies: list[dict[str, str]]
    servers: list[Server]
    answered: list[dict[str, str]] = field(default_factory=list)  # every 200's body
    failed: int = 0
    #: The first few failures (status and body, or the connection error), for the assertion.
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def one(self, client: httpx.Client, rng: random.Random) -> None:
        server = rng.choice(self.servers)
        try:
            r = client.post(
                f"{server.base}/api/v1/checks/share-code",
                json=rng.choice(self.bodies),
                headers=bearer(self.key),
                timeout=30,
            )
        except httpx.HTTPError as exc:  # the server died under it: no answer, nothing promised
            with self._lock:
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(repr(exc))
            return
        with self._lock:
            if r.status_code == 200:
                self.answered.append(r.json())
            else:
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(f"{r.status_code} {r.text[:300]}")

    def run(self, threads: int, *, checks: int | None = None, seconds: float | None = None) -> None:
        """Check from ``threads`` threads until ``checks`` are done or ``seconds`` pass (or
        ``stop``)."""
        deadline = time.monotonic() + (seconds if seconds is not None else 3600)
        done = [0]

        def work(n: int) -> None:
            rng = random.Random(n)
            with httpx.Client() as client:
                while not self._stop.is_set() and time.monotonic() < deadline:
                    with self._lock:
                        if checks is not None and done[0] >= checks:
                            return
                        done[0] += 1
                    self.one(client, rng)

        pool = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()

    def stop(self) -> None:
        self._stop.set()


def share_code_bodies(world, persons: int = 6) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """A right-to-work agreement for the test agency and ``persons`` persons with codes."""
    from tests.checks.test_checks import DOB, RTW_ITEMS, code_for, person

    world.agreement(purposes=["right_to_work"], data_items=RTW_ITEMS, limit_per_day=1_000_000)
    bodies = []
    for i in range(persons):
        p = person(world, given=f"Given{i}", family=f"Family{i}")
        _, code = code_for(world, p)
        bodies.append({"code": code, "date_of_birth": str(DOB), "purpose": "right_to_work"})
    world.session.commit()
    return bodies


def check_one_log(
    session: Session, answered: list[dict[str, str]], settings: Settings
) -> dict[str, int]:
    """Every answered check has its entry; every entry is integrated once, without a gap; the
    log verifies. Returns the sizes seen."""
    ids = [uuid.UUID(a["audit_entry_id"]) for a in answered]
    seqs = integrated(session, ids)  # what was still pending, integrated here (a restart)
    assert all(s is not None for s in seqs), "an answered check has no integrated entry"
    assert len(set(ids)) == len(ids) and len(set(seqs)) == len(seqs)
    total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    numbered = list(
        session.scalars(
            select(AuditEntry.seq).where(AuditEntry.seq.is_not(None)).order_by(AuditEntry.seq)
        )
    )
    assert numbered == list(range(total)), "numbers are not 0..n-1 (a gap or a duplicate)"
    assert StoredTree(session).size() == total
    report = AuditService(session, settings).verify()
    assert report.ok, report.problems
    session.commit()
    return {"entries": total, "checkpoints": report.checkpoints, "answered": len(answered)}

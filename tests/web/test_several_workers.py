"""Two `shareguard serve` processes on one database, each with its own integrator candidate,
answer checks side by side and keep one consistent log."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shareguard.config import Settings
from tests.web.serving import Checker, Server, check_one_log, share_code_bodies


def test_two_serve_processes_keep_one_log(
    engine: Engine, session: Session, world, tmp_path: Path, settings: Settings
) -> None:
    bodies = share_code_bodies(world)
    servers = [Server(engine, tmp_path), Server(engine, tmp_path)]
    try:
        for server in servers:
            server.start()
        checker = Checker(world.keys["agency"], bodies, servers)
        checker.run(threads=6, checks=120)
    finally:
        for server in servers:
            server.stop()
    assert checker.failed == 0 and len(checker.answered) == 120, checker.errors
    assert all(a["outcome"] == "confirmed" for a in checker.answered)
    seen = check_one_log(session, checker.answered, settings)
    assert seen["entries"] >= 120 and seen["checkpoints"] >= 1
    logs = "".join(s.log.read_text() for s in servers if s.log)
    assert "Traceback" not in logs

"""SIGKILL a serving process at random moments while partners check through it: whatever it
was doing (a check's transaction, an integration batch, signing a checkpoint), after a
restart every answered check has its entry, each entry is integrated once, without a gap, and
the log verifies."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shareguard.config import Settings
from tests.web.serving import Checker, Server, check_one_log, share_code_bodies

KILLS = 2


def test_sigkill_while_checking_loses_no_answered_check(
    engine: Engine, session: Session, world, tmp_path: Path, settings: Settings
) -> None:
    bodies = share_code_bodies(world)
    rng = random.Random(20261206)
    server = Server(engine, tmp_path).start()
    checker = Checker(world.keys["agency"], bodies, [server])
    load = threading.Thread(target=checker.run, kwargs={"threads": 4, "seconds": 240})
    load.start()
    try:
        for _ in range(KILLS):
            answered = len(checker.answered)
            deadline = time.monotonic() + 60
            while len(checker.answered) < answered + 5 and time.monotonic() < deadline:
                time.sleep(0.05)  # let checks, integration and checkpoints get going
            time.sleep(rng.uniform(0.05, 1.5))
            server.kill()
            # A restart on the same port: the partners' next requests reach the new process.
            server.proc = None
            server.start()
        deadline = time.monotonic() + 60
        answered = len(checker.answered)
        while len(checker.answered) < answered + 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        checker.stop()
        load.join(60)
        server.stop()
    assert len(checker.answered) >= 40, checker.errors
    seen = check_one_log(session, checker.answered, settings)
    assert seen["entries"] >= len(checker.answered)
    log = server.log.read_text() if server.log else ""
    assert "IntegrationConflict" not in log

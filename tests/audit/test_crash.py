"""A writer killed with SIGKILL loses nothing it acknowledged, and the log still verifies.

The writer process appends batches and, at the same time, runs an integrator candidate and
signs checkpoints, so the kill can land in an append, an integration batch or a signature.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import func, select

from shareguard.audit import AuditEntry, AuditRecord, append_many
from shareguard.audit.service import AuditService
from shareguard.config import Settings
from shareguard.storage.db import make_engine, session_factory
from shareguard.storage.models import Base
from tests.factories import integrated

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from shareguard.audit import AuditRecord, append_many
    from shareguard.audit.integrator import Integrator
    from shareguard.audit.service import AuditService
    from shareguard.config import Settings
    from shareguard.storage.db import make_engine, session_factory

    data = Path(sys.argv[1])
    settings = Settings(mode="test", data_dir=data, integrate_interval=0.01, integrate_batch=50)
    engine = make_engine(f"sqlite:///{data / 'crash.db'}", synchronous="FULL")
    Integrator(engine, settings).start()
    session = session_factory(engine)()
    batch = 0
    while True:
        records = [AuditRecord(action="check", details={"b": batch, "i": i}) for i in range(37)]
        append_many(session, records)
        session.commit()
        # Acknowledged: only now does the caller learn the entries are stored.
        print(batch, flush=True)
        batch += 1
        if batch % 3 == 0:
            AuditService(session, settings).checkpoint()
            session.commit()  # the writer is the boundary: services never commit
""")


def test_sigkill_mid_run_keeps_every_acknowledged_append(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'crash.db'}")
    Base.metadata.create_all(engine)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    acknowledged = -1
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    try:
        while acknowledged < 12 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged = int(line)
        os.kill(proc.pid, signal.SIGKILL)  # mid-run: appending, integrating or signing
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert acknowledged >= 12, "writer did not get going"

    with session_factory(engine)() as session:
        batch = AuditEntry.details["b"].as_integer()
        per_batch = dict(session.execute(select(batch, func.count()).group_by(batch)).all())
        assert all(per_batch.get(b) == 37 for b in range(acknowledged + 1))  # every ack'd one
        assert set(per_batch.values()) == {37}  # and no half batch
        # After the restart the integrator takes up what was pending: each entry once.
        integrated(session)
        seqs = list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
        assert seqs == list(range(37 * len(per_batch)))
        svc = AuditService(session, Settings(mode="test", data_dir=tmp_path))
        report = svc.verify()
        assert report.ok, report.problems
        assert report.checkpoints >= 4 and report.pending == 0
        # The log takes appends again, and still verifies.
        append_many(session, [AuditRecord(action="after-restart")])
        session.commit()
        svc.checkpoint()
        assert svc.verify().ok
    engine.dispose()

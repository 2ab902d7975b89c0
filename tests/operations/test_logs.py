"""JSON logs: one object a line with a request id, and no personal data after a whole demo
run and a round of checks, console pages and errors against it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.config import get_settings
from shareguard.operations.logs import ContextFilter, JsonFormatter
from shareguard.status.models import Person, PersonDocument, PersonName
from shareguard.storage.db import get_engine, unit_of_work
from shareguard.web.app import create_app

runner = CliRunner()


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.addFilter(ContextFilter())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        # httpx is the test's own client (it logs the URLs it asks for): not the service's log.
        if not record.name.startswith("httpx"):
            self.lines.append(self.format(record))


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHAREGUARD_LOG_FORMAT", "json")
    monkeypatch.delenv("SHAREGUARD_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield tmp_path
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_the_logs_of_a_demo_run_hold_no_personal_data(demo_dir: Path) -> None:
    handler = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        first = runner.invoke(app, ["demo", "--no-serve", "--persons", "80"])
        assert first.exit_code == 0, first.output
        with unit_of_work() as s:
            names = {(n.given, n.family) for n in s.scalars(select(PersonName))}
            births = {str(d) for d in s.scalars(select(Person.date_of_birth))}
            documents = set(s.scalars(select(PersonDocument.number)))
        given, family = sorted(names)[0]
        with TestClient(create_app(get_settings(), get_engine())) as c:
            # A check by name and date of birth (refused: no key), a bad request, pages.
            c.post(
                "/api/v1/checks/attributes",
                json={
                    "given": given,
                    "family": family,
                    "date_of_birth": sorted(births)[0],
                    "purpose": "right_to_work",
                },
            )
            c.post("/api/v1/checks/attributes", json={"family": family, "date_of_birth": "x"})
            c.get("/", params={"q": family})
            c.get("/transparency")
            c.get(f"/api/v1/persons/{given}/access-log")
            traced = c.get("/healthz", headers={"X-Request-ID": "trace-logs-1"})
            assert traced.status_code == 200
            runner.invoke(app, ["retention", "run", "--dry-run", "--json"])
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert handler.lines, "no log lines at all"
    docs = [json.loads(line) for line in handler.lines]
    assert all({"time", "level", "logger", "message", "request_id"} <= d.keys() for d in docs)
    access = [d for d in docs if d["logger"] == "shareguard.access"]
    assert any(d["request_id"] == "trace-logs-1" and d["route"] == "/healthz" for d in access)
    text = "\n".join(handler.lines)
    assert len(names) > 50 and len(births) > 50
    leaked = [g for g, f in names if len(g) > 3 and g in text]
    leaked += [f for g, f in names if len(f) > 3 and f in text]
    leaked += [b for b in births if b in text]
    leaked += [n for n in documents if n in text]
    assert leaked == [], f"personal data in the logs: {len(leaked)} values"


def test_plain_text_access_lines_name_the_route_not_what_was_typed(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The default (text) format writes access lines too, with the route template only: a
    name typed into a search box or an address never reaches the log."""
    monkeypatch.setenv("SHAREGUARD_LOG_FORMAT", "text")
    get_settings.cache_clear()
    typed = "Zyxwavern Quolbeck 1987-03-04"
    with (
        caplog.at_level(logging.INFO, logger="shareguard.access"),
        TestClient(create_app(get_settings(), get_engine())) as c,
    ):
        c.get("/healthz", params={"q": typed})
        c.get(f"/api/v1/persons/{typed}/access-log")
    lines = [r.getMessage() for r in caplog.records if r.name == "shareguard.access"]
    assert any(line.startswith("GET /healthz 200") for line in lines)
    assert any(line.startswith("GET /api/v1/persons/{person_id}/access-log 4") for line in lines)
    assert not any("Zyxwavern" in line or "1987-03-04" in line for line in lines)
    assert logging.getLogger("uvicorn.access").disabled

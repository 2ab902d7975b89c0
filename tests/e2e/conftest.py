"""Browser tests: a real uvicorn server on a free port, a seeded SQLite database, Chromium.

One browser per test session; each test gets a fresh context (no cookies). Every page a
test visits can be checked with axe-core (``a11y``), which also saves a screenshot under
test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shareguard.signin import Outbox
from tests.conftest import chromium_path, need

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "src" / "shareguard" / "web" / "static" / "vendor" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "shareguard-demo"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


#: The browser tests' database, for test-only housekeeping between journeys.
ENGINES: list[Any] = []
#: Where the servers' sign-in route delivers the person's one-time codes (test mode shows none).
OUTBOX = Outbox()


def outbox(settings: Any) -> Outbox:
    """The configured code sender of every test server: one shared outbox."""
    return OUTBOX


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def e2e_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Path]]:
    from shareguard.config import Settings
    from shareguard.demo.world import seed
    from shareguard.storage.db import make_engine
    from shareguard.storage.models import Base

    data_dir = tmp_path_factory.mktemp("e2e")
    settings = Settings(
        mode="test",
        data_dir=data_dir,
        secret_key="e2e-secret-key-0123456789abcdef",
        person_code_sender="tests.e2e.conftest:outbox",
    )
    engine = make_engine(f"sqlite:///{data_dir / 'e2e.db'}", synchronous="NORMAL")
    Base.metadata.create_all(engine)
    world = seed(engine, persons=40)
    ENGINES.append(engine)
    yield settings, engine, world
    ENGINES.remove(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def world(e2e_db):  # type: ignore[no-untyped-def]
    return e2e_db[2]


@pytest.fixture(scope="session")
def server(e2e_db) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    from shareguard.web.app import create_app

    settings, engine, _ = e2e_db
    with Server(create_app(settings, engine)) as srv:
        yield srv


@pytest.fixture(scope="session")
def short_session_server(e2e_db) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    """The same database behind a console whose sessions last two seconds."""
    from shareguard.web.app import create_app

    settings, engine, _ = e2e_db
    with Server(create_app(settings.model_copy(update={"session_max_age": 2}), engine)) as srv:
        yield srv


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    need(path is not None, "Chromium is not installed (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=BROWSER_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def nojs_page(browser: Any) -> Iterator[Any]:
    """A page with JavaScript switched off: every journey must still work."""
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


def a11y(page: Any, name: str) -> None:
    """Assert axe-core finds no WCAG 2.2 A/AA violations on the page; save a screenshot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
              ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    assert result == [], f"axe violations on {name} ({page.url}):\n{json.dumps(result, indent=2)}"


def sign_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def demo_email(local: str, org: str = "ho") -> str:
    return f"{local}@{org}.demo.example"


#: A synthetic person the journeys sign in as (created in the browser tests' database).
PERSON = {
    "given": "Ada",
    "family": "Browsertest",
    "day": "12",
    "month": "4",
    "year": "1991",
    "document": "BT1234567",
}


@pytest.fixture(scope="session")
def person(e2e_db) -> str:  # type: ignore[no-untyped-def]
    from datetime import date, timedelta

    from shareguard.storage.base import today
    from shareguard.storage.db import unit_of_work
    from tests import factories

    _, engine, world = e2e_db
    caseworker = world.principal("caseworker")
    born = date(int(PERSON["year"]), int(PERSON["month"]), int(PERSON["day"]))
    with unit_of_work(engine) as session:
        p = factories.person(
            session,
            PERSON["given"],
            PERSON["family"],
            born,
            documents=(PERSON["document"],),
            by=caseworker,
            commit=False,
        )
        factories.status_record(
            session,
            p.id,
            "limited_leave",
            valid_from=today() - timedelta(days=200),
            valid_to=today() + timedelta(days=500),
            work_conditions="No more than 20 hours a week",
            evidence_ref="BROWSER-TEST",
            by=caseworker,
            commit=False,
        )
        return str(p.id)


def tab_to(page: Any, element_id: str, limit: int = 80) -> None:
    """Press Tab until the element with this id has focus (keyboard-only journeys)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"could not reach #{element_id} with the Tab key")


def person_sign_in(page: Any, base: str) -> None:
    # The journeys sign the same person in more often than the hourly limit on codes allows
    # (shareguard.signin.service.CODES_PER_WINDOW): forget the earlier codes first.
    from shareguard.signin.models import SignInCode

    for engine in ENGINES:
        with engine.begin() as conn:
            conn.execute(SignInCode.__table__.delete())
    page.goto(base + "/my/")
    page.get_by_role("button", name="Start now").click()
    page.get_by_label("Given names").fill(PERSON["given"])
    page.get_by_label("Family name").fill(PERSON["family"])
    page.get_by_label("Day").fill(PERSON["day"])
    page.get_by_label("Month").fill(PERSON["month"])
    page.get_by_label("Year").fill(PERSON["year"])
    page.get_by_label("Passport or residence document number").fill(PERSON["document"])
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Security code").wait_for()
    page.get_by_label("Security code").fill(OUTBOX.last())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/my/account$"))


@pytest.fixture(scope="session")
def review_candidate(e2e_db, person, tmp_path_factory: pytest.TempPathFactory) -> str:  # type: ignore[no-untyped-def]
    """A candidate match for the browser test person, waiting for review."""
    import uuid

    from shareguard.storage.db import unit_of_work
    from tests.web import builders

    _, engine, world = e2e_db
    with unit_of_work(engine) as session:
        return str(
            builders.candidate(
                session,
                world.agreements["HO-DVLA-001"],
                uuid.UUID(person),
                tmp_path_factory.mktemp("match"),
                first_name="Adah",
                surname=PERSON["family"],
                dob=f"{PERSON['year']}-{int(PERSON['month']):02d}-{int(PERSON['day']):02d}",
            )
        )

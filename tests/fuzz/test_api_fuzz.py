"""Schemathesis against the whole JSON API, as a partner and as a member of staff.

Every operation in /openapi.json is called with generated requests (a fixed seed, a bounded
number of examples each) on a seeded demo world. The run fails on any 5xx, any status code
or content type the operation does not document, and any response that does not match its
documented schema. The counts are written to test-artifacts/schemathesis.json.

Run alone: ``.venv/bin/pytest -m fuzz tests/fuzz`` (part of ``make test``). SQLite only: the
point is the API's contract, which the database does not change; the database paths are
covered on both backends elsewhere. ``SHAREGUARD_FUZZ_EXAMPLES`` sets the examples per
operation (default 25).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from shareguard.accounts.service import AccountService
from shareguard.config import Settings, get_settings
from shareguard.demo.world import seed
from shareguard.storage.db import make_engine, unit_of_work
from shareguard.storage.models import Base
from shareguard.web.app import create_app

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("SHAREGUARD_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Calls made, by identity and operation, and the answers' status classes (tests/fuzz/conftest.py
#: adds the failures and writes test-artifacts/schemathesis.json at the end of the session).
CASES: Counter[tuple[str, str]] = Counter()
STATUSES: Counter[str] = Counter()
STARTED = time.monotonic()


#: The app is built at import so schemathesis can read /openapi.json and make one test per
#: operation; its database is created and seeded by the ``fuzz_world`` fixture, when run.
DATA_DIR = Path(tempfile.mkdtemp(prefix="shareguard-fuzz-"))
atexit.register(shutil.rmtree, DATA_DIR, ignore_errors=True)
SETTINGS = Settings(
    mode="test",
    data_dir=DATA_DIR,
    secret_key="fuzz-secret-key-0123456789abcdef",
    person_code_sender="shareguard.signin.delivery:Outbox",
)
ENGINE = make_engine(f"sqlite:///{DATA_DIR / 'fuzz.db'}", synchronous="OFF")
Base.metadata.create_all(ENGINE)
APP = create_app(SETTINGS, ENGINE)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def fuzz_world() -> Iterator[dict[str, str]]:
    """The seeded demo world, a partner key and an all-roles staff key (module-wide)."""
    with pytest.MonkeyPatch.context() as env:
        # The demo's seeders write files under the configured data directory.
        env.setenv("SHAREGUARD_DATA_DIR", str(DATA_DIR))
        get_settings.cache_clear()
        world = seed(ENGINE, persons=40)
        with unit_of_work(ENGINE) as session:
            accounts = AccountService(session)
            staff = accounts.create_user(
                world.orgs["ho"],
                "fuzz-staff@ho.demo.example",
                "Fuzzing staff identity",
                ["governance_officer", "caseworker", "reviewer", "auditor"],
                "fuzz-password-0123",
            )
            _, staff_key = accounts.issue_key(world.orgs["ho"], "fuzz staff", user_id=staff.id)
        yield {"partner": world.keys["dvla"], "staff": staff_key}
    get_settings.cache_clear()


def _run(case: Any, identity: str, tokens: dict[str, str]) -> None:
    CASES[(identity, case.operation.label)] += 1
    response = case.call(headers={"Authorization": f"Bearer {tokens[identity]}"})
    STATUSES[f"{response.status_code // 100}xx"] += 1
    case.validate_response(response, checks=CHECKS)


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # a fixed seed: the same cases every run
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_a_partner(case: Any, fuzz_world: dict[str, str]) -> None:
    _run(case, "partner", fuzz_world)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_staff(case: Any, fuzz_world: dict[str, str]) -> None:
    _run(case, "staff", fuzz_world)

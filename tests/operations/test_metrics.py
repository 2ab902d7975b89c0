"""/metrics on SQLite and PostgreSQL: the series are there, they move when checks run, and the
endpoint is not public in production."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from shareguard.config import Settings
from shareguard.web.app import create_app
from tests import factories
from tests.factories import bearer

RTW_ITEMS = ["name", "photo_ref", "may_work", "work_conditions", "valid_until"]
SERIES = [
    "shareguard_http_requests_total",
    "shareguard_http_request_duration_seconds_bucket",
    "shareguard_checks_total",
    "shareguard_decision_duration_seconds_bucket",
    "shareguard_disclosures_total",
    "shareguard_refusals_total",
    "shareguard_audit_log_size",
    "shareguard_audit_pending_entries",
    "shareguard_audit_oldest_pending_seconds",
    "shareguard_audit_checkpoint_age_seconds",
    "shareguard_webhook_queue_depth",
    "shareguard_notices_overdue",
    "shareguard_requests_overdue",
    "shareguard_retention_backlog",
]


def _value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _check(client, world) -> str:  # type: ignore[no-untyped-def]
    p = factories.person(world, "Metra", "Exemplar", factories.PERSON_DOB, commit=False)
    factories.status_record(world, p.id, "limited_leave", commit=False)
    _row, code = factories.share_code(world, p.id)
    got = client.post(
        "/api/v1/checks/share-code",
        headers=bearer(world.keys["agency"]),
        json={"code": code, "date_of_birth": str(factories.PERSON_DOB), "purpose": "right_to_work"},
    )
    assert got.status_code == 200, got.text
    return str(got.json()["outcome"])


def test_metrics_expose_the_series_and_they_move_when_checks_run(client, world) -> None:
    ref = "T-MET-RTW"
    world.agreement(reference=ref, purposes=["right_to_work"], data_items=RTW_ITEMS)
    before = client.get("/metrics")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    outcome = _check(client, world)
    # A refusal: a purpose the agency has no agreement for.
    refused = client.post(
        "/api/v1/checks/attributes",
        headers=bearer(world.keys["agency"]),
        json={
            "given": "Metra",
            "family": "Exemplar",
            "date_of_birth": str(factories.PERSON_DOB),
            "purpose": "bank_account",
        },
    )
    assert refused.status_code == 403, refused.text
    after = client.get("/metrics").text
    for name in SERIES:
        assert name in after, name
    route = "/api/v1/checks/share-code"
    for name, labels in [
        ("shareguard_checks_total", {"outcome": outcome, "purpose": "right_to_work"}),
        ("shareguard_disclosures_total", {"agreement": ref, "kind": "check_answer"}),
        ("shareguard_http_requests_total", {"route": route, "status": "200"}),
        ("shareguard_http_request_duration_seconds_count", {"route": route}),
        ("shareguard_decision_duration_seconds_count", {"action": "check"}),
        ("shareguard_refusals_total", {"action": "check"}),
    ]:
        assert _value(after, name, **labels) >= _value(before.text, name, **labels) + 1, name
    assert (
        _value(after, "shareguard_audit_log_size")
        + _value(after, "shareguard_audit_pending_entries")
        >= 2
    )


def test_requests_carry_an_id(client) -> None:
    got = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", got.headers["x-request-id"])
    kept = client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert kept.headers["x-request-id"] == "trace-123"
    odd = client.get("/healthz", headers={"X-Request-ID": "not ok; " * 20})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])


def test_metrics_need_their_token_when_one_is_set(engine, tmp_path) -> None:
    settings = Settings(
        mode="test", data_dir=tmp_path, secret_key="k" * 32, metrics_token="scrape-me-please"
    )
    with TestClient(create_app(settings, engine)) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = c.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert ok.status_code == 200 and "shareguard_audit_log_size" in ok.text


@pytest.mark.parametrize("host", ["203.0.113.7"])
def test_production_serves_metrics_to_this_machine_only(engine, tmp_path, host: str) -> None:
    settings = Settings(mode="production", data_dir=tmp_path, secret_key="k" * 32)
    app = create_app(settings, engine)
    with TestClient(app, client=(host, 50000)) as c:
        refused = c.get("/metrics")
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        assert c.get("/metrics").status_code == 200

"""The matching API: uploads, runs as background jobs with progress, results, adverse actions."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from shareguard.matching import tasks
from tests.factories import TestWorld, bearer
from tests.matching.test_runs import Scenario

pytestmark = pytest.mark.usefixtures("data_dir")

MAPPING = (
    '{"record_id": "record_id", "first_name": "first_name", "surname": "surname", '
    '"date_of_birth": "date_of_birth", "postcode": "postcode"}'
)


def test_malformed_upload_is_refused_whole_as_problem_json(client, world: TestWorld) -> None:  # type: ignore[no-untyped-def]
    agreement_id = world.agreement(bulk=True)
    body = (
        "record_id,first_name,surname,date_of_birth,postcode\n"
        "A1,Ann,Lee,1980-13-01,\n"
        "A2,,Ng,1980-01-01,\n"
    )
    resp = client.post(
        "/api/v1/matching/datasets",
        data={"agreement_id": str(agreement_id), "mapping": MAPPING},
        files={"file": ("partner.csv", body, "text/csv")},
        headers=bearer(world.keys["agency"]),
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert {(e["line"], e["column"]) for e in problem["errors"]} == {
        (2, "date_of_birth"),
        (3, "first_name"),
    }
    assert "Lee" not in resp.text


def test_quarantined_rows_are_listed_to_the_supplier_and_refused_to_others(
    client: Any, world: TestWorld
) -> None:
    agreement_id = world.agreement(bulk=True)
    body = (
        "record_id,first_name,surname,date_of_birth,postcode\n"
        "A1,Ann,Lee,1980-01-01,\n"
        "A2,,Ng,1980-01-01,\n"
    )
    upload = client.post(
        "/api/v1/matching/datasets",
        data={"agreement_id": str(agreement_id), "mapping": MAPPING, "mode": "quarantine"},
        files={"file": ("partner.csv", body, "text/csv")},
        headers=bearer(world.keys["agency"]),
    )
    assert upload.status_code == 201, upload.text
    url = f"/api/v1/matching/datasets/{upload.json()['id']}/quarantine"
    listed = client.get(url, headers=bearer(world.keys["agency"]))
    assert listed.status_code == 200
    [row] = listed.json()
    assert (row["line"], row["column"]) == (3, "first_name") and row["reason"]
    assert "Ng" not in listed.text
    # A bank is no party to the agreement: it may not read what the agency supplied.
    assert client.get(url, headers=bearer(world.keys["bank"])).status_code == 403
    assert (
        client.get(
            url.replace(upload.json()["id"], str(uuid.uuid4())),
            headers=bearer(world.keys["agency"]),
        ).status_code
        == 404
    )


def test_run_in_the_background_then_results_and_refused_adverse_action(
    client,
    world: TestWorld,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    sc = Scenario(world, tmp_path)
    upload = client.post(
        "/api/v1/matching/datasets",
        data={"agreement_id": str(sc.agreement_id), "mapping": MAPPING},
        files={"file": ("partner.csv", sc.partner_file.read_bytes(), "text/csv")},
        headers=bearer(world.keys["agency"]),
    )
    assert upload.status_code == 201, upload.text
    # A partner cannot start a run; staff can.
    body = {
        "agreement_id": str(sc.agreement_id),
        "dataset_id": upload.json()["id"],
        "threshold": 0.9,
    }
    assert (
        client.post(
            "/api/v1/matching/runs", json=body, headers=bearer(world.keys["agency"])
        ).status_code
        == 403
    )
    started = client.post("/api/v1/matching/runs", json=body, headers=bearer(world.keys["officer"]))
    assert started.status_code == 202
    run_id = started.json()["id"]
    seen = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = client.get(
            f"/api/v1/matching/runs/{run_id}", headers=bearer(world.keys["officer"])
        ).json()
        seen.add(state["state"])
        if state["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    tasks.wait(uuid.UUID(run_id), 10)
    assert state["state"] == "succeeded", state["error"]
    assert state["progress"] == 1.0 and state["counts"]["disclosed"] > 0

    results = client.get(
        f"/api/v1/matching/runs/{run_id}/results", headers=bearer(world.keys["agency"])
    )
    assert results.status_code == 200
    items = results.json()
    assert len(items) == state["counts"]["disclosed"]
    assert str(sc.appellant) not in results.text
    # Another organisation sees nothing of the run.
    assert (
        client.get(
            f"/api/v1/matching/runs/{run_id}", headers=bearer(world.keys["bank"])
        ).status_code
        == 404
    )

    refused = client.post(
        f"/api/v1/matching/candidates/{items[0]['candidate_id']}/adverse-actions",
        json={"kind": "licence_revoked", "contest_route": "Write to the DVLA review team"},
        headers=bearer(world.keys["agency"]),
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "review" in refused.json()["detail"]

"""The API (problem+json) and the CLI (exit 2 with the field at fault) of the door's other way."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shareguard.cli import app as cli
from shareguard.exchange.models import ExchangeRequest, InboundBatch, InboundRecord
from shareguard.storage import db
from tests.factories import ExchangeWorld, bearer

runner = CliRunner()
CASEWORKER = "caseworker@test.example"


@pytest.fixture
def committed(xw: ExchangeWorld) -> ExchangeWorld:
    xw.session.commit()
    return xw


def test_api_request_answer_and_refusal(client: Any, committed: ExchangeWorld) -> None:
    xw = committed
    cw, agency = bearer(xw.w.keys["caseworker"]), bearer(xw.w.keys["agency"])
    body = {
        "agreement": "T-AG-HO-001",
        "person_id": str(xw.person),
        "reason": "Tracing",
        "data_items": ["address"],
    }
    bad = client.post("/api/v1/requests", json={**body, "agreement": "NOPE"}, headers=cw)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["field"] == "agreement"
    refused = client.post(
        "/api/v1/requests", json={**body, "agreement": "T-NHS-HO-002"}, headers=cw
    )
    assert refused.status_code == 403 and refused.json()["kind"] == "firewall"
    assert "Health-care records" in refused.json()["detail"]
    made = client.post("/api/v1/requests", json=body, headers=cw)
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    queue = client.get("/api/v1/requests", headers=agency).json()
    assert [r["id"] for r in queue] == [rid]  # the refused one never reaches the partner
    assert queue[0]["person"] == {"name": "Testa Exemplar", "date_of_birth": "1985-05-05"}
    assert queue[0]["person_id"] is None
    answered = client.post(
        f"/api/v1/requests/{rid}/answer",
        json={"outcome": "data", "data": {"address": "1 Test Street", "tax_code": "1257L"}},
        headers=agency,
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["dropped"] == ["tax_code"] and answered.json()["answer"] is None
    seen = client.get(f"/api/v1/requests/{rid}", headers=cw).json()
    assert seen["answer"] == {"address": "1 Test Street"} and seen["state"] == "answered"
    again = client.post(
        f"/api/v1/requests/{rid}/answer", json={"outcome": "not_held"}, headers=agency
    )
    assert again.status_code == 409


def test_api_inbound_record_and_file(client: Any, committed: ExchangeWorld) -> None:
    xw = committed
    agency = bearer(xw.w.keys["agency"])
    ok = client.post(
        "/api/v1/inbound",
        json={"agreement": "T-AG-HO-001", "data": {"name": "Testa Exemplar", "address": "1 St"}},
        headers=agency,
    )
    assert ok.status_code == 201, ok.text
    firewalled = client.post(
        "/api/v1/inbound",
        json={
            "agreement": "T-AG-HO-001",
            "data": {"name": "Testa Exemplar"},
            "categories": ["witness"],
        },
        headers=agency,
    )
    assert firewalled.status_code == 403 and firewalled.json()["kind"] == "firewall"
    csv = (
        "record_id,name,date_of_birth,health_record\n"
        "A1,Testa Exemplar,1985-05-05,\n"
        "A2,Bad Row,1985-13-01,\n"
        "A3,Someone Else,1970-01-01,clinic\n"
    )
    files = {"file": ("partner.csv", csv.encode(), "text/csv")}
    rejected = client.post(
        "/api/v1/inbound/files",
        data={"agreement": "T-AG-HO-001"},
        files=files,
        headers=agency,
    )
    assert rejected.status_code == 422
    assert rejected.json()["errors"] == [
        {"line": 3, "column": "date_of_birth", "reason": "not a date (YYYY-MM-DD)"}
    ]
    kept = client.post(
        "/api/v1/inbound/files",
        data={"agreement": "T-AG-HO-001", "mode": "quarantine"},
        files=files,
        headers=agency,
    )
    assert kept.status_code == 201, kept.text
    out = kept.json()
    assert (out["rows"], out["accepted"], out["refused"], out["quarantined"]) == (3, 1, 1, 1)
    assert out["refusals"] == {"firewall": 1}
    staff = client.get(
        "/api/v1/inbound?state=unverified", headers=bearer(xw.w.keys["caseworker"])
    ).json()
    assert len(staff) == 2 and all(r["data"] for r in staff)


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, committed: ExchangeWorld) -> ExchangeWorld:
    monkeypatch.setattr(db, "get_engine", lambda: committed.session.get_bind())
    return committed


def count(xw: ExchangeWorld, model: Any) -> int:
    xw.session.rollback()
    n = int(xw.session.scalar(select(func.count()).select_from(model)) or 0)
    xw.session.rollback()  # end the read, so the CLI's own session can write
    return n


def test_cli_requests(cli_db: ExchangeWorld) -> None:
    xw = cli_db
    base = ["requests", "create", "--agreement", "T-AG-HO-001", "--person", str(xw.person)]
    out = runner.invoke(cli, [*base, "--item", "address", "--as", CASEWORKER])
    assert out.exit_code == 2 and "reason" in out.output
    out = runner.invoke(
        cli, [*base, "--item", "shoe_size", "--reason", "Tracing", "--as", CASEWORKER]
    )
    assert out.exit_code == 2 and "unknown data item" in out.output
    assert count(xw, ExchangeRequest) == 0
    out = runner.invoke(
        cli, [*base, "--item", "address", "--reason", "Tracing", "--as", CASEWORKER, "--json"]
    )
    assert out.exit_code == 0, out.output
    ref = json.loads(out.output)["reference"]
    out = runner.invoke(cli, ["requests", "list", "--json", "--as", "agency_user@test.example"])
    assert [r["reference"] for r in json.loads(out.output)["items"]] == [ref]
    out = runner.invoke(
        cli,
        [
            "requests",
            "answer",
            ref,
            "--set",
            "address=1 Test Street",
            "--set",
            "favourite_colour=blue",
            "--as",
            "agency_user@test.example",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "answered; dropped: favourite_colour" in out.output
    out = runner.invoke(cli, ["requests", "show", ref, "--json", "--as", CASEWORKER])
    assert json.loads(out.output)["answer"] == {"address": "1 Test Street"}
    out = runner.invoke(cli, ["requests", "escalate", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["escalated"] == []


def test_cli_inbound(cli_db: ExchangeWorld, tmp_path: Any) -> None:
    xw = cli_db
    partner = ["--as", "agency_user@test.example"]
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,name,date_of_birth\nA1,Testa Exemplar,1985-05-05\nA2,X Y,nope\n")
    out = runner.invoke(
        cli, ["inbound", "submit", "--agreement", "T-AG-HO-001", "--file", str(bad), *partner]
    )
    assert out.exit_code == 2 and "line 3, date_of_birth" in out.output
    assert count(xw, InboundBatch) == 0 and count(xw, InboundRecord) == 0
    out = runner.invoke(
        cli, ["inbound", "submit", "--agreement", "NOPE", "--set", "name=A B", *partner]
    )
    assert out.exit_code == 2 and "no agreement" in out.output
    out = runner.invoke(
        cli,
        [
            "inbound",
            "submit",
            "--agreement",
            "T-AG-HO-001",
            "--file",
            str(bad),
            "--mode",
            "quarantine",
            "--json",
            *partner,
        ],
    )
    assert out.exit_code == 0, out.output
    batch = json.loads(out.output)
    assert (batch["accepted"], batch["quarantined"]) == (1, 1)
    out = runner.invoke(cli, ["inbound", "list", "--json", "--as", CASEWORKER])
    items = json.loads(out.output)["items"]
    assert len(items) == 1 and items[0]["person_id"] == str(xw.person)
    out = runner.invoke(cli, ["inbound", "show", batch["reference"], "--json", *partner])
    assert json.loads(out.output)["errors"][0]["line"] == 3


def test_api_takes_the_agreement_by_id_and_needs_one(client: Any, committed: ExchangeWorld) -> None:
    xw = committed
    agency = bearer(xw.w.keys["agency"])
    record = {"data": {"name": "Testa Exemplar"}}
    ok = client.post(
        "/api/v1/inbound", json={**record, "agreement_id": str(xw.agreement)}, headers=agency
    )
    assert ok.status_code == 201, ok.text
    missing = client.post("/api/v1/inbound", json=record, headers=agency)
    assert missing.status_code == 422 and missing.json()["field"] == "agreement"
    # A partner cannot ask the Home Office for information: that is a caseworker's request.
    asked = client.post(
        "/api/v1/requests",
        json={"agreement": "T-AG-HO-001", "person_id": str(xw.person), "reason": "x"},
        headers=agency,
    )
    assert asked.status_code == 403


def test_scheduled_work_reminds_escalates_and_delivers(app: Any, committed: ExchangeWorld) -> None:
    from shareguard.exchange.startup import deliver_once, escalate_once

    assert escalate_once(app) == (0, 0)
    assert deliver_once(app) == {"delivered": 0, "retrying": 0, "failed": 0}


@pytest.mark.parametrize("path", ["/api/v1/requests", "/api/v1/inbound"])
def test_an_unknown_agreement_is_named_only_if_it_looks_like_a_reference(
    client: Any, committed: ExchangeWorld, path: str
) -> None:
    # A caller may paste a person's name or date of birth into the agreement field:
    # the refusal names the field, never the value.
    xw = committed
    key = bearer(xw.w.keys["caseworker" if path.endswith("requests") else "agency"])
    body: dict[str, Any] = (
        {"person_id": str(xw.person), "reason": "Tracing", "data_items": ["address"]}
        if path.endswith("requests")
        else {"data": {"name": "Testa Exemplar"}}
    )
    for pasted in ("Testa Exemplar", "1985-05-05"):
        bad = client.post(path, json={**body, "agreement": pasted}, headers=key)
        assert bad.status_code == 422
        assert bad.json()["field"] == "agreement"
        assert bad.json()["detail"] == "no agreement has that reference or id"
        assert pasted not in bad.text
    nope = client.post(path, json={**body, "agreement": "NOPE"}, headers=key)
    assert nope.status_code == 422 and nope.json()["detail"] == "no agreement 'NOPE'"


@pytest.mark.parametrize(
    "mapping",
    ['{"name": "\\ud800"}', '{"\\udfff": "name"}', '{"name": ["name"]}', '{"name": {"a": 1}}'],
)
def test_a_mapping_that_names_no_column_is_a_422(
    client: Any, committed: ExchangeWorld, mapping: str
) -> None:
    # A lone surrogate was echoed into the refusal, which could not then be written: a 500.
    csv = b"record_id,name,date_of_birth\nA1,Testa Exemplar,1985-05-05\n"
    response = client.post(
        "/api/v1/inbound/files",
        data={"agreement": "T-AG-HO-001", "mapping": mapping},
        files={"file": ("partner.csv", csv, "text/csv")},
        headers=bearer(committed.w.keys["agency"]),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "mapping"
    assert response.json()["detail"] == "the mapping names each data item's column as text"


def test_a_file_with_a_byte_order_mark_is_read(client: Any, committed: ExchangeWorld) -> None:
    # Spreadsheets save "CSV UTF-8" with a BOM; its first column was not found.
    csv = "\ufeffrecord_id,name,date_of_birth\r\nA1,Testa Exemplar,1985-05-05\r\n"
    response = client.post(
        "/api/v1/inbound/files",
        data={"agreement": "T-AG-HO-001"},
        files={"file": ("partner.csv", csv.encode(), "text/csv")},
        headers=bearer(committed.w.keys["agency"]),
    )
    assert response.status_code == 201, response.text
    assert (response.json()["rows"], response.json()["accepted"]) == (1, 1)


def test_a_nul_in_a_file_is_a_bad_row(client: Any, committed: ExchangeWorld) -> None:
    csv = b"record_id,name,date_of_birth\nA1,Testa\x00Exemplar,1985-05-05\n"
    response = client.post(
        "/api/v1/inbound/files",
        data={"agreement": "T-AG-HO-001"},
        files={"file": ("partner.csv", csv, "text/csv")},
        headers=bearer(committed.w.keys["agency"]),
    )
    assert response.status_code != 500
    assert "Testa" not in response.text


def test_a_file_larger_than_a_json_request_is_sent_in(
    client: Any, committed: ExchangeWorld
) -> None:
    # The route had the 128 KB limit of a JSON request: a file of a few thousand rows was a 413.
    rows = "".join(f"A{i},Testa Exemplar,1985-05-05\n" for i in range(6000))
    csv = ("record_id,name,date_of_birth\n" + rows).encode()
    assert len(csv) > 160 * 1024
    response = client.post(
        "/api/v1/inbound/files",
        data={"agreement": "T-AG-HO-001", "mode": "quarantine"},
        files={"file": ("partner.csv", csv, "text/csv")},
        headers=bearer(committed.w.keys["agency"]),
    )
    assert response.status_code == 201, response.text[:300]
    assert response.json()["rows"] == 6000

"""The public transparency register: non-draft agreements only, valid against its schema."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "transparency.schema.json").read_text()
)


def test_export_validates_and_leaves_out_drafts(client, world):
    world.agreement(reference="PUB-ACTIVE")
    world.agreement(reference="PUB-DRAFT", activate=False)
    data = client.get("/api/v1/transparency").json()
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(
        data
    )
    refs = [a["reference"] for a in data["agreements"]]
    assert "PUB-ACTIVE" in refs and "PUB-DRAFT" not in refs
    entry = data["agreements"][refs.index("PUB-ACTIVE")]
    assert entry["legal_gateway"] == {"statute": "Test Act 2020", "section": "s.1"}
    assert {p["role"] for p in entry["parties"]} == {"discloser", "recipient"}


def test_schema_rejects_a_register_with_personal_fields_missing_or_wrong():
    bad = {"generated_at": "2026-01-01T00:00:00Z", "agreements": [{"reference": "X"}]}
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert list(validator.iter_errors(bad))


def test_csv_export_matches_json(client, world):
    world.agreement(reference="PUB-CSV")
    resp = client.get("/api/v1/transparency.csv")
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    row = next(r for r in rows if r["reference"] == "PUB-CSV")
    assert row["status"] == "active"
    assert row["recipients"] == "Test Agency"
    assert row["legal_gateway"] == "Test Act 2020 s.1"

"""Retention as agreement data: parsed, in the JSON Schema, on the checklist, in the register."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from shareguard.agreements.retention import (
    Period,
    parse_period,
    parse_rule,
    required_kinds,
)
from shareguard.agreements.schemas import AgreementIn
from shareguard.agreements.service import AgreementService
from shareguard.errors import InvalidInput
from tests.factories import agreement_fields, inbound_agreement

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "transparency.schema.json").read_text()
)


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("P1Y", Period(years=1)),
        ("P6M", Period(months=6)),
        ("P2W", Period(weeks=2)),
        ("P30D", Period(days=30)),
        ("P1Y6M", Period(years=1, months=6)),
    ],
)
def test_periods_parse(text: str, period: Period) -> None:
    assert parse_period(text) == period
    assert period.text == text


@pytest.mark.parametrize("text", ["", "P", "1Y", "P1H", "PT1H", "P-1D", "P1.5Y", "one year"])
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_period(text)


@pytest.mark.parametrize(
    ("now", "rule", "cutoff"),
    [
        ("2030-06-01T12:00:00+00:00", "P1Y after check", "2029-06-01T12:00:00+00:00"),
        ("2028-02-29T00:00:00+00:00", "P1Y after check", "2027-02-28T00:00:00+00:00"),
        ("2030-03-31T00:00:00+00:00", "P1M after check", "2030-02-28T00:00:00+00:00"),
        ("2030-01-10T00:00:00+00:00", "P2W3D after check", "2029-12-24T00:00:00+00:00"),
    ],
)
def test_cutoffs_are_calendar_arithmetic(now: str, rule: str, cutoff: str) -> None:
    got = parse_rule("check", rule).cutoff(datetime.fromisoformat(now))
    assert got == datetime.fromisoformat(cutoff).astimezone(UTC)


def test_a_rule_names_an_event_its_kind_has() -> None:
    with pytest.raises(ValueError, match="runs from one of: check"):
        parse_rule("check", "P1Y after run")
    with pytest.raises(ValueError, match="unknown kind"):
        parse_rule("checks", "P1Y after check")


def test_agreement_files_are_validated_and_kept_in_canonical_form() -> None:
    data = AgreementIn(**agreement_fields(retention_rules={"check": " P12M after check "}))
    assert data.retention_rules == {"check": "P12M after check"}
    with pytest.raises(ValidationError) as exc:
        AgreementIn(**agreement_fields(retention_rules={"check": "a year after check"}))
    assert exc.value.errors()[0]["loc"] == ("retention_rules",)
    with pytest.raises(ValidationError):
        AgreementIn(**agreement_fields(retention_rules={"share_code": "P1Y after expiry"}))


def test_the_json_schema_shows_the_rules() -> None:
    schema = AgreementIn.model_json_schema()["properties"]["retention_rules"]
    assert schema["propertyNames"]["enum"] == [
        "check",
        "match_run",
        "partner_dataset",
        "request",
        "inbound",
    ]
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({"check": "P1Y after check"}))
    assert list(validator.iter_errors({"check": "one year"}))
    assert list(validator.iter_errors({"unknown": "P1Y after check"}))


def test_which_kinds_need_a_rule() -> None:
    assert required_kinds("outbound", bulk=False) == ["check"]
    assert required_kinds("outbound", bulk=True) == ["check", "match_run", "partner_dataset"]
    assert required_kinds("inbound", bulk=True) == ["request", "inbound"]


def test_activation_refuses_an_agreement_without_machine_readable_retention(world, session) -> None:
    svc = AgreementService(session)
    free_text_only = agreement_fields(retention="for the tenancy plus one year", retention_rules={})
    a = svc.create(AgreementIn(**free_text_only), world.principals["officer"])
    session.commit()
    with pytest.raises(InvalidInput) as exc:
        svc.transition(a.id, "activate", world.principals["officer2"])
    assert exc.value.extra["missing"] == [
        "machine-readable retention for check records (e.g. 'P1Y after check')"
    ]
    session.rollback()
    # An inbound agreement needs rules for requests and records received, not for checks.
    with pytest.raises(InvalidInput) as exc:
        inbound_agreement(world, "Test Agency", retention_rules={"check": "P1Y after check"})
    assert len(exc.value.extra["missing"]) == 2
    session.rollback()


def test_the_register_shows_the_explanation_and_the_rules(client, world) -> None:
    world.agreement(reference="PUB-RET", retention="A year after each check.")
    data = client.get("/api/v1/transparency").json()
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(
        data
    )
    entry = next(a for a in data["agreements"] if a["reference"] == "PUB-RET")
    assert entry["retention"]["explanation"] == "A year after each check."
    check = next(r for r in entry["retention"]["rules"] if r["kind"] == "check")
    assert check == {
        "kind": "check",
        "title": "Check records",
        "rule": "P1Y after check",
        "period": "P1Y",
        "event": "check",
        "words": "1 year after the check",
    }
    csv_text = client.get("/api/v1/transparency.csv").text
    assert "check: P1Y after check" in csv_text
    page = client.get("/agreements/PUB-RET").text
    assert "Retention rules (enforced)" in page and "P1Y after check" in page

"""The register and reports show which way data flows and what the door did with it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest

from shareguard.agreements import transparency
from shareguard.errors import Refused
from shareguard.exchange import InboundService, RequestService
from shareguard.reports.service import ReportService
from shareguard.storage.base import today
from tests.factories import ExchangeWorld

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "transparency.schema.json"


def test_register_names_discloser_recipient_and_direction(xw: ExchangeWorld) -> None:
    outbound = xw.w.agreement(reference="T-HO-AG-001")
    assert outbound
    data = transparency.register(xw.session)
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    by_ref = {a["reference"]: a for a in data["agreements"]}
    inbound = by_ref["T-AG-HO-001"]
    assert inbound["direction"] == "inbound"
    assert (inbound["disclosers"], inbound["recipients"]) == (["Test Agency"], ["Test Department"])
    assert by_ref["T-HO-AG-001"]["direction"] == "outbound"
    rows = transparency.register_csv(xw.session).splitlines()
    header = rows[0].split(",")
    line = next(r for r in rows if r.startswith("T-AG-HO-001"))
    assert "direction" in header and ",inbound," in line


def test_report_counts_requests_answers_refusals_and_inbound(xw: ExchangeWorld) -> None:
    svc = RequestService(xw.session)
    cw, agency = xw.w.principals["caseworker"], xw.w.principals["agency"]
    ask = {"person_id": xw.person, "reason": "Tracing", "data_items": ["address"]}
    a = svc.create(cw, agreement="T-AG-HO-001", **ask)
    svc.answer(a.id, agency, outcome="data", data={"address": "1 Test Street"})
    b = svc.create(cw, agreement="T-AG-HO-001", **ask)
    svc.answer(b.id, agency, outcome="not_held")
    svc.create(cw, agreement="T-AG-HO-001", **ask)
    with pytest.raises(Refused):
        svc.create(cw, agreement="T-NHS-HO-002", **ask)
    InboundService(xw.session).submit_record(
        agency, agreement="T-AG-HO-001", data={"name": "Testa Exemplar"}
    )
    with pytest.raises(Refused):
        InboundService(xw.session).submit_record(
            agency, agreement="T-AG-HO-001", data={"name": "A B"}, categories=["victim"]
        )
    officer = xw.w.principals["officer"]
    section = ReportService(xw.session).report(officer, agreement_id=xw.agreement)
    assert section["direction"] == "inbound"
    assert (section["disclosers"], section["recipients"]) == (["Test Agency"], ["Test Department"])
    req = section["exchange"]["requests"]
    assert (req["total"], req["answered"], req["not_held"], req["open"]) == (3, 1, 1, 1)
    assert req["response_time"]["done"] == 2 and req["response_time"]["median_hours"] is not None
    inbound = section["exchange"]["inbound"]
    assert (inbound["accepted"], inbound["refused"], inbound["refused_by_firewall"]) == (1, 1, 1)
    nhs = ReportService(xw.session).report(officer, agreement_id=xw.nhs_agreement)
    assert nhs["exchange"]["requests"]["refused_by_firewall"] == 1
    assert nhs["disclosures"]["total"] == 0
    # The value assessment applies to an inbound agreement as to any other.
    row = ReportService(xw.session).assess(
        xw.agreement,
        officer,
        period_start=today() - timedelta(days=30),
        period_end=today(),
        benefit_claimed="Addresses traced",
        evidence="One answer in the period",
        evidence_strength="weak",
        conclusion="continue",
        next_review_date=today() + timedelta(days=180),
    )
    assert row.disclosures == 5  # three requests permitted, one answer, one inbound record
    assert isinstance(row.next_review_date, date)

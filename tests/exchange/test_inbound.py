"""Data sent to the operator: each record through the door, bulk files with errors by line."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.audit.models import AuditEntry
from shareguard.audit.service import AuditService
from shareguard.errors import Conflict, Forbidden, InvalidInput, Refused, keeps_audit
from shareguard.exchange import InboundService
from shareguard.exchange.models import InboundBatch, InboundRecord
from shareguard.matching import FileRejected
from shareguard.matching.models import WatchlistEntry
from shareguard.policy.models import Disclosure
from shareguard.status.models import ImmigrationDecision, StatusRecord
from tests.factories import ExchangeWorld, inbound_agreement

HEADER = "record_id,name,date_of_birth,address,postcode,categories,health_record,shoe_size\n"


def count(session: Session, model) -> int:  # type: ignore[no-untyped-def]
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def send(xw: ExchangeWorld, data, **kw):  # type: ignore[no-untyped-def]
    return InboundService(xw.session).submit_record(
        xw.w.principals["agency"], agreement="T-AG-HO-001", data=data, **kw
    )


def test_accepted_record_is_minimised_unverified_and_linked(xw: ExchangeWorld) -> None:
    record = send(
        xw,
        {
            "name": "Testa Exemplar",
            "date_of_birth": "1985-05-05",
            "address": "1 Test Street",
            "employment": "Test Ltd",
            "shoe_size": "9",
        },
        record_id="P-1",
    )
    assert record.state == "unverified" and record.person_id == xw.person
    assert record.data == {
        "name": "Testa Exemplar",
        "date_of_birth": "1985-05-05",
        "address": "1 Test Street",
    }
    assert record.dropped == ["employment", "shoe_size"]
    entry = xw.session.get(AuditEntry, record.audit_entry_id)
    assert entry is not None and entry.action == "disclosure.inbound"
    assert entry.details["dropped"] == ["employment", "shoe_size"]
    assert (entry.details["discloser"], entry.details["recipient"]) == (
        str(xw.w.orgs["agency"]),
        str(xw.w.orgs["dept"]),
    )
    # The data-quality rules ran: nationality is not asked of this agreement, so no finding.
    assert record.findings == []
    # The person sees it in "who checked my data", with both parties named.
    me = Principal(organisation_id=None, person_id=xw.person)
    seen = [i for i in AuditService(xw.session).access_log(xw.person, me) if i.seq == entry.seq]
    assert seen and (seen[0].discloser, seen[0].recipient) == ("Test Agency", "Test Department")
    # Nothing reached a status record, a decision or the watch list.
    assert count(xw.session, StatusRecord) == 0
    assert count(xw.session, ImmigrationDecision) == 0
    assert count(xw.session, WatchlistEntry) == 0


def test_firewalled_item_or_victim_flag_is_refused_and_audited(xw: ExchangeWorld) -> None:
    for data, categories in [
        ({"name": "Testa Exemplar", "health_record": "clinic visit"}, ()),
        ({"name": "Testa Exemplar", "address": "1 Test Street"}, ("victim",)),
    ]:
        with pytest.raises(Refused) as err:
            send(xw, data, categories=categories)
        assert err.value.extra["kind"] == "firewall" and keeps_audit(err.value)
    assert count(xw.session, InboundRecord) == 0
    denials = list(xw.session.scalars(select(AuditEntry).where(AuditEntry.action == "policy.deny")))
    assert len(denials) == 2
    assert all(d.details["discloser"] == str(xw.w.orgs["agency"]) for d in denials)


def test_bad_input_is_refused_with_the_field_and_nothing_written(xw: ExchangeWorld) -> None:
    outbound = xw.w.agreement()
    before = (count(xw.session, InboundBatch), count(xw.session, AuditEntry))
    svc = InboundService(xw.session)
    agency = xw.w.principals["agency"]
    cases = [
        ({"agreement": "NO-SUCH", "data": {"name": "A B"}}, "agreement"),
        ({"agreement": str(outbound), "data": {"name": "A B"}}, "agreement"),
        (
            {"agreement": "T-AG-HO-001", "data": {"date_of_birth": "05/05/1985"}},
            "data.date_of_birth",
        ),
        ({"agreement": "T-AG-HO-001", "data": {"shoe_size": "9"}}, "data"),
        (
            {"agreement": "T-AG-HO-001", "data": {"name": "A B"}, "categories": ["alien"]},
            "categories",
        ),
    ]
    for kw, field in cases:
        with pytest.raises(InvalidInput) as err:
            svc.submit_record(agency, **kw)  # type: ignore[arg-type]
        assert err.value.field == field, kw
    # The operator cannot send under an agreement it receives under.
    with pytest.raises(InvalidInput) as err:
        svc.submit_record(
            xw.w.principals["caseworker"], agreement="T-AG-HO-001", data={"name": "A B"}
        )
    assert "runs the other way" in err.value.detail
    assert (count(xw.session, InboundBatch), count(xw.session, AuditEntry)) == before


def write(tmp_path: Path, rows: list[str], name: str = "partner.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


GOOD = [
    "P-1,Testa Exemplar,1985-05-05,1 Test Street,TE1 1ST,,,9",
    "P-2,Other Person,1990-01-01,2 Test Street,TE2 2ND,,,",
]
BAD = [
    "P-3,Bad Date,31/12/1990,3 Test Street,TE3 3RD,,,",  # line 4: date
    "P-4,Healthy Person,1970-01-01,4 Test Street,,,clinic,",  # line 5: firewall
    "P-5,Witness Person,1975-01-01,5 Test Street,,witness,,",  # line 6: firewall (flag)
    "P-6,Ragged Row",  # line 7: wrong field count
]


def test_file_in_quarantine_mode_keeps_good_rows_and_lists_the_rest(
    xw: ExchangeWorld, tmp_path: Path
) -> None:
    path = write(tmp_path, GOOD + BAD)
    out = InboundService(xw.session).submit_file(
        xw.w.principals["agency"], path, agreement="T-AG-HO-001", mode="quarantine"
    )
    b = out.batch
    assert (b.rows, b.accepted, b.refused, b.quarantined) == (6, 2, 2, 2)
    assert b.refusals == {"firewall": 2}
    by_line = {(e["line"], e["column"]): e["reason"] for e in b.errors}
    assert by_line[(4, "date_of_birth")] == "not a date (YYYY-MM-DD)"
    assert "firewall" in by_line[(5, "*")] and "firewall" in by_line[(6, "*")]
    assert by_line[(7, "*")].startswith("expected 8 fields")
    assert "Bad Date" not in str(b.errors) and "clinic" not in str(b.errors)
    assert [r.partner_record_id for r in out.records] == ["P-1", "P-2"]
    assert out.records[0].person_id == xw.person and out.records[1].person_id is None
    assert out.records[0].dropped == ["shoe_size"]
    assert count(xw.session, InboundRecord) == 2
    assert count(xw.session, Disclosure) == 2


def test_file_in_reject_mode_with_a_bad_row_writes_nothing(
    xw: ExchangeWorld, tmp_path: Path
) -> None:
    path = write(tmp_path, GOOD + BAD[:1])
    before = count(xw.session, AuditEntry)
    with pytest.raises(FileRejected) as err:
        InboundService(xw.session).submit_file(
            xw.w.principals["agency"], path, agreement="T-AG-HO-001"
        )
    assert err.value.extra["errors"] == [
        {"line": 4, "column": "date_of_birth", "reason": "not a date (YYYY-MM-DD)"}
    ]
    assert "nothing was submitted" in err.value.detail
    assert count(xw.session, InboundBatch) == 0 and count(xw.session, InboundRecord) == 0
    assert count(xw.session, AuditEntry) == before


def test_firewalled_item_in_a_bulk_row_is_refused_in_reject_mode_too(
    xw: ExchangeWorld, tmp_path: Path
) -> None:
    # A well-formed row is not malformed: the door refuses it, and the good rows go in.
    path = write(tmp_path, [*GOOD, BAD[1]])
    out = InboundService(xw.session).submit_file(
        xw.w.principals["agency"], path, agreement="T-AG-HO-001"
    )
    assert (out.batch.accepted, out.batch.refused) == (2, 1)
    assert out.batch.errors[0]["line"] == 4  # the third row, after the header


def test_parquet_file_and_a_column_mapping(xw: ExchangeWorld, tmp_path: Path) -> None:
    path = tmp_path / "partner.parquet"
    pq.write_table(
        pa.table(
            {
                "ref": ["A1", "A2"],
                "full_name": ["Testa Exemplar", "Other Person"],
                "dob": ["1985-05-05", "1990-01-01"],
            }
        ),
        path,
    )
    out = InboundService(xw.session).submit_file(
        xw.w.principals["agency"],
        path,
        agreement="T-AG-HO-001",
        mapping={"record_id": "ref", "name": "full_name", "date_of_birth": "dob"},
    )
    assert out.batch.accepted == 2 and out.records[0].line == 1
    with pytest.raises(InvalidInput) as err:
        InboundService(xw.session).submit_file(
            xw.w.principals["agency"], path, agreement="T-AG-HO-001", mapping={"name": "nope"}
        )
    assert err.value.field == "mapping"


def test_per_run_limit_refuses_the_excess_rows(xw: ExchangeWorld, tmp_path: Path) -> None:
    inbound_agreement(xw.w, "Test Agency", reference="T-AG-HO-LIM", bulk=True, limit_per_run=1)
    out = InboundService(xw.session).submit_file(
        xw.w.principals["agency"], write(tmp_path, GOOD), agreement="T-AG-HO-LIM"
    )
    assert (out.batch.accepted, out.batch.refused, out.batch.refusals) == (1, 1, {"limit": 1})


def test_four_eyes_before_information_is_verified(xw: ExchangeWorld) -> None:
    record = send(xw, {"name": "Testa Exemplar", "date_of_birth": "1985-05-05"})
    svc = InboundService(xw.session)
    queue = svc.records(xw.w.principals["caseworker"], state="unverified")
    assert [r.id for r in queue] == [record.id]
    with pytest.raises(Forbidden):
        svc.propose(record.id, xw.w.principals["agency"])
    svc.propose(record.id, xw.w.principals["caseworker"], "matches our records")
    with pytest.raises(Forbidden):
        svc.verify(record.id, xw.w.principals["caseworker"])
    assert svc.verify(record.id, xw.w.principals["caseworker2"]).state == "verified"
    with pytest.raises(Conflict):
        svc.dismiss(record.id, xw.w.principals["caseworker"], "late")
    # Verification records who checked it; it still writes no status record.
    assert count(xw.session, StatusRecord) == 0


def test_quality_findings_hold_a_record_back(xw: ExchangeWorld) -> None:
    record = send(xw, {"name": "Testa Exemplar", "address": "1 Test Street"})
    assert [f["message"] for f in record.findings] == ["record is missing: date_of_birth"]
    with pytest.raises(Conflict):
        InboundService(xw.session).propose(record.id, xw.w.principals["caseworker"])
    done = InboundService(xw.session).dismiss(
        record.id, xw.w.principals["caseworker"], "no date of birth"
    )
    assert done.state == "dismissed"


def test_the_operator_cannot_submit_under_an_outbound_agreement(xw: ExchangeWorld) -> None:
    outbound = xw.w.agreement(reference="T-HO-OUT-1")  # Test Department discloses to the agency
    with pytest.raises(InvalidInput) as err:
        InboundService(xw.session).submit_record(
            xw.w.principals["caseworker"], agreement=str(outbound), data={"name": "A B"}
        )
    assert err.value.field == "agreement"

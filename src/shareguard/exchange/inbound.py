"""Data partners send to the operator: one record through the API, or a CSV/Parquet file.

Each record passes the one door as action ``submit``: the door decides on every data item
the partner carried (so a firewalled item or a victim/witness flag is refused, and the
refusal audited, even where minimising would have dropped it), then minimises to the
agreement's data items and audits the accepted record with the dropped field names. Accepted
records land as *unverified information* in the caseworkers' queue with the data-quality
rules run on them. Nothing here writes a status record, a decision or a watch-list entry:
a record becomes verified only when one caseworker proposes it and a second verifies it, and
using it still goes through those registers' own gates.

Files are read by the matching package's streaming reader (line, column and reason for every
bad row, never the value). Two modes, as for partner datasets:

* ``reject`` (the default): one malformed row refuses the whole file; nothing is written.
* ``quarantine``: malformed rows are left out and listed (line, column, reason) on the batch;
  every well-formed row goes to the door, which accepts or refuses (and audits) each.

Either way the batch, its records and their audit entries commit together at the boundary.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.direction import operator_ids
from shareguard.agreements.models import Agreement
from shareguard.audit import AuditRecord, append
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound, Refused, keep_audit
from shareguard.exchange.models import InboundBatch, InboundRecord, InboundState
from shareguard.exchange.service import resolve_agreement
from shareguard.matching import FileRejected, RowError, file_columns, stream_rows
from shareguard.policy import DisclosureRequest, Subject, disclose_many
from shareguard.quality import Register, run_rules
from shareguard.status import subjects_for
from shareguard.status.models import Person, PersonName
from shareguard.storage.base import today, utcnow

CASEWORKER = "caseworker"
STAFF = (CASEWORKER, "governance_officer", "auditor", "reviewer", "system")
MODES = ("reject", "quarantine")
#: Columns that are not data items: the partner's reference and the person's categories.
RECORD_ID = "record_id"
CATEGORIES = "categories"
KNOWN_CATEGORIES = ("pupil", "patient", "victim", "witness")
MAX_VALUE = 1000
MAX_REPORTED = 1000
DOOR_BATCH = 500
_NAME_BAD = re.compile(r"[0-9@#$%^*_=<>{}\[\]|\\]")
_POSTCODE = re.compile(r"^[A-Za-z0-9 ]{2,10}$")

#: Called with rows read so far and the fraction of the file read (0..1).
Progress = Callable[[int, float], None]


@dataclass
class ParsedRow:
    line: int | None
    record_id: str
    values: dict[str, Any]
    categories: frozenset[str]
    dropped: list[str] = field(default_factory=list)


def parse_row(
    raw: Mapping[str, Any], line: int | None, on: date
) -> tuple[ParsedRow | None, list[RowError]]:
    """Check one record; returns it (or None) and its errors (column and reason, no value).

    Data items are checked by kind (name, date of birth, postcode; other items by length);
    fields that are not data items are carried through to be dropped and named by the door.
    """
    errors: list[RowError] = []
    at = line or 0

    def bad(column: str, reason: str) -> None:
        errors.append(RowError(at, column, reason))

    record_id = str(raw.get(RECORD_ID) or "").strip()
    if len(record_id) > 100:
        bad(RECORD_ID, "longer than 100 characters")
    categories: set[str] = set()
    text = str(raw.get(CATEGORIES) or "").strip()
    for part in re.split(r"[;,]", text) if text else []:
        c = part.strip().lower()
        if c and c not in KNOWN_CATEGORIES:
            bad(CATEGORIES, f"unknown category (use: {', '.join(KNOWN_CATEGORIES)})")
        elif c:
            categories.add(c)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in (RECORD_ID, CATEGORIES):
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, (dict, list)):
            bad(str(key)[:60], "a value is text, a number or true/false")
            continue
        v = value.strip() if isinstance(value, str) else value
        if isinstance(v, str) and len(v) > MAX_VALUE:
            bad(str(key)[:60], f"longer than {MAX_VALUE} characters")
            continue
        if key == "name" and (len(str(v)) > 200 or _NAME_BAD.search(str(v))):
            bad("name", "contains characters a name cannot have")
            continue
        if key == "date_of_birth":
            try:
                dob = date.fromisoformat(str(v))
            except ValueError:
                bad("date_of_birth", "not a date (YYYY-MM-DD)")
                continue
            if dob.year < 1900 or dob > on:
                bad("date_of_birth", "not a plausible date of birth")
                continue
        if key == "postcode" and not _POSTCODE.match(str(v)):
            bad("postcode", "not a postcode")
            continue
        values[str(key)[:60]] = v
    if not any(k in DATA_ITEMS for k in values):
        bad("*", "the record carries no data item")
    if errors:
        return None, errors
    return ParsedRow(line, record_id, values, frozenset(categories)), []


@dataclass
class SubmitOutcome:
    batch: InboundBatch
    records: list[InboundRecord]


class InboundService:
    def __init__(self, session: Session) -> None:
        self.session = session
        # Agreements named by this service's unit of work, held so that many records under
        # one agreement do not look it up again each time (by reference that is a query).
        self._agreements: dict[str, Agreement] = {}

    # submitting --------------------------------------------------------------------
    def submit_record(
        self,
        principal: Principal,
        *,
        agreement: str | uuid.UUID,
        data: Mapping[str, Any],
        record_id: str = "",
        categories: Sequence[str] = (),
        purpose: str | None = None,
        now: datetime | None = None,
    ) -> InboundRecord:
        """One record from a partner. InvalidInput (nothing written) for bad input; Refused
        (kept with its audit entry) when the door refuses it."""
        found, code = self._agreement(principal, agreement, purpose)
        if not isinstance(data, Mapping) or not data:
            raise InvalidInput("the record needs at least one data item", field="data")
        raw: dict[str, Any] = {**data, RECORD_ID: record_id, CATEGORIES: ";".join(categories)}
        parsed, errors = parse_row(raw, None, today())
        if parsed is None:
            first = errors[0]
            column = first.column
            if column == "*":
                column = "data"
            elif column not in (RECORD_ID, CATEGORIES):
                column = f"data.{column}"
            raise InvalidInput(f"{column}: {first.reason}", field=column)
        batch = self._batch(principal, found, source="api", mode="reject")
        outcomes = self._through_door(principal, found, code, batch, [parsed], now or utcnow())
        batch.rows = 1
        self.session.flush()
        record, refusal = outcomes[0]
        if record is None:
            assert refusal is not None
            raise keep_audit(Refused(refusal[1], kind=refusal[0], batch_id=str(batch.id)))
        return record

    def submit_file(
        self,
        principal: Principal,
        path: Path,
        *,
        agreement: str | uuid.UUID,
        mode: str = "reject",
        mapping: Mapping[str, str] | None = None,
        purpose: str | None = None,
        name: str | None = None,
        progress: Progress | None = None,
        now: datetime | None = None,
    ) -> SubmitOutcome:
        """A bulk file from a partner, streamed; each well-formed row goes through the door.

        ``mapping`` is data item (or record_id / categories) → file column; by default a
        column whose name is a data item maps to it, and other columns are carried to be
        dropped. Raises FileRejected in ``reject`` mode when any row is malformed (nothing
        written), InvalidInput for a file-level problem.
        """
        if mode not in MODES:
            raise InvalidInput(f"mode must be one of: {', '.join(MODES)}", field="mode")
        found, code = self._agreement(principal, agreement, purpose)
        header = file_columns(path)
        by_column = _column_map(header, mapping or {})
        columns = list(by_column)
        on = today()
        at = now or utcnow()
        parsed_rows: list[ParsedRow] = []
        errors: list[RowError] = []
        bad_rows = 0
        total = 0
        for chunk in stream_rows(path, columns):
            errors.extend(chunk.ragged)
            bad_rows += len(chunk.ragged)
            total += len(chunk.ragged)
            for line, raw in zip(chunk.lines, chunk.rows, strict=True):
                total += 1
                row = {by_column[c]: v for c, v in raw.items()}
                parsed, row_errors = parse_row(row, line, on)
                if parsed is None:
                    bad_rows += 1
                    errors.extend(row_errors)
                else:
                    parsed_rows.append(parsed)
            if progress:
                progress(total, chunk.fraction)
        _duplicates(parsed_rows, errors)
        dup_lines = {e.line for e in errors if e.reason == "duplicate record id"}
        if dup_lines:
            bad_rows += len(dup_lines)
            parsed_rows = [r for r in parsed_rows if r.line not in dup_lines]
        if total == 0:
            raise InvalidInput("the file has no rows", field="file")
        errors.sort(key=lambda e: (e.line, e.column))
        if mode == "reject" and bad_rows:
            shown = "; ".join(f"line {e.line}, {e.column}: {e.reason}" for e in errors[:5])
            more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise FileRejected(
                f"{bad_rows} bad row(s); nothing was submitted: {shown}{more}",
                field="file",
                errors=[e.as_dict() for e in errors[:MAX_REPORTED]],
                error_count=len(errors),
            )
        batch = self._batch(
            principal, found, source="file", mode=mode, file_name=(name or path.name)[:200]
        )
        batch.sha256 = _sha256(path)
        records: list[InboundRecord] = []
        reported = [e.as_dict() for e in errors[:MAX_REPORTED]]
        for i in range(0, len(parsed_rows), DOOR_BATCH):
            part = parsed_rows[i : i + DOOR_BATCH]
            for parsed, (record, refusal) in zip(
                part, self._through_door(principal, found, code, batch, part, at), strict=True
            ):
                if record is not None:
                    records.append(record)
                elif refusal is not None and len(reported) < MAX_REPORTED:
                    reported.append({"line": parsed.line, "column": "*", "reason": refusal[1]})
        batch.rows = total
        batch.quarantined = bad_rows
        batch.errors = sorted(reported, key=lambda e: (e["line"] or 0, e["column"]))
        self.session.flush()
        append(
            self.session,
            AuditRecord(
                action="exchange.inbound_file",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=found.id,
                details={
                    "batch": str(batch.id),
                    "reference": batch.reference,
                    "rows": batch.rows,
                    "accepted": batch.accepted,
                    "refused": batch.refused,
                    "quarantined": batch.quarantined,
                    "sha256": batch.sha256,
                    "mode": mode,
                },
            ),
        )
        return SubmitOutcome(batch, records)

    # the door ----------------------------------------------------------------------
    def _through_door(
        self,
        principal: Principal,
        agreement: Agreement,
        purpose: str,
        batch: InboundBatch,
        rows: Sequence[ParsedRow],
        at: datetime,
    ) -> list[tuple[InboundRecord | None, tuple[str, str] | None]]:
        """Decide, minimise and audit each row; accepted ones become unverified records."""
        matched = self._match_many([r.values for r in rows])
        known = subjects_for(self.session, sorted({p for p in matched if p is not None}))
        allowed_items = set(agreement.data_items) & set(PURPOSES[purpose].answer_shape)
        recipient = batch.recipient_org_id
        items = []
        for parsed, person_id in zip(rows, matched, strict=True):
            carried = tuple(sorted(k for k in parsed.values if k in DATA_ITEMS))
            kept = tuple(i for i in carried if i in allowed_items) or carried
            base = known.get(person_id) if person_id else None
            subject = Subject(
                ref=str(person_id) if person_id else "",
                date_of_birth=_dob(parsed.values) or (base.date_of_birth if base else None),
                categories=parsed.categories | (base.categories if base else frozenset()),
                appeal_state=base.appeal_state if base else "none",
                locks=base.locks if base else frozenset(),
            )
            request = DisclosureRequest(
                principal=principal,
                action="submit",
                agreement_id=agreement.id,
                purpose=purpose,
                data_items=kept,
                offered_items=carried,
                subject=subject,
                discloser_id=principal.organisation_id,
                recipient_id=recipient,
                at=at,
            )
            items.append((request, parsed.values, ()))
        done = disclose_many(self.session, items, kind="inbound")
        out: list[tuple[InboundRecord | None, tuple[str, str] | None]] = []
        for parsed, person_id, d in zip(rows, matched, done, strict=True):
            if not d.decision.allowed or d.answer is None:
                batch.refused += 1
                batch.refusals = {
                    **(batch.refusals or {}),
                    d.decision.kind: (batch.refusals or {}).get(d.decision.kind, 0) + 1,
                }
                out.append((None, (d.decision.kind, d.decision.reason)))
                continue
            batch.accepted += 1
            record = InboundRecord(
                batch_id=batch.id,
                agreement_id=agreement.id,
                discloser_org_id=principal.organisation_id,
                recipient_org_id=recipient,
                partner_record_id=parsed.record_id,
                line=parsed.line,
                person_id=person_id,
                data=d.answer,
                dropped=sorted(k for k in parsed.values if k not in d.answer),
                findings=_findings(d.answer),
                disclosure_id=d.disclosure_id,
                audit_entry_id=d.audit_entry_id,
                created_at=at,
            )
            self.session.add(record)
            out.append((record, None))
        self.session.flush()
        return out

    def _match_many(self, rows: Sequence[Mapping[str, Any]]) -> list[uuid.UUID | None]:
        """For each record, the one person in the register with exactly its name (any of the
        person's names) and date of birth; None when there is none or more than one.

        One query per batch: the register's names of everyone born on those dates.
        """
        wanted = [(_norm(str(v.get("name") or "")), _dob(v)) for v in rows]
        dobs = sorted({d for n, d in wanted if n and d is not None})
        found: dict[tuple[str, date], set[uuid.UUID]] = {}
        for i in range(0, len(dobs), 500):
            stmt = (
                select(
                    PersonName.person_id, PersonName.given, PersonName.family, Person.date_of_birth
                )
                .join(Person, Person.id == PersonName.person_id)
                .where(Person.date_of_birth.in_(dobs[i : i + 500]))
            )
            for pid, given, family, born in self.session.execute(stmt):
                found.setdefault((_norm(f"{given} {family}"), born), set()).add(pid)
        out: list[uuid.UUID | None] = []
        for name, dob in wanted:
            ids = found.get((name, dob), set()) if name and dob is not None else set()
            out.append(next(iter(ids)) if len(ids) == 1 else None)
        return out

    # the caseworkers' queue ----------------------------------------------------------
    def get(self, record_id: uuid.UUID, principal: Principal) -> InboundRecord:
        row = self.session.get(InboundRecord, record_id)
        if row is None or not self._may_see(row.discloser_org_id, principal):
            raise NotFound(f"inbound record {record_id} not found")
        return row

    def batch(self, batch_id: uuid.UUID, principal: Principal) -> InboundBatch:
        row = self.session.get(InboundBatch, batch_id)
        if row is None or not self._may_see(row.discloser_org_id, principal):
            raise NotFound(f"inbound batch {batch_id} not found")
        return row

    def batch_by_reference(self, ref: str, principal: Principal) -> InboundBatch:
        try:
            return self.batch(uuid.UUID(ref.strip()), principal)
        except ValueError:
            pass
        row = self.session.scalar(select(InboundBatch).where(InboundBatch.reference == ref))
        if row is None or not self._may_see(row.discloser_org_id, principal):
            raise NotFound(f"inbound batch {ref[:40]} not found")
        return row

    def records(
        self,
        principal: Principal,
        *,
        state: str | None = None,
        agreement_id: uuid.UUID | None = None,
        batch_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[InboundRecord]:
        """Inbound records, newest first: staff see all; a partner only what it sent."""
        stmt = select(InboundRecord).where(
            *self._record_filter(principal, state, agreement_id, batch_id, person_id)
        )
        stmt = stmt.order_by(InboundRecord.created_at.desc(), InboundRecord.id.desc())
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def count_records(
        self,
        principal: Principal,
        *,
        state: str | None = None,
        agreement_id: uuid.UUID | None = None,
        batch_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None,
    ) -> int:
        """How many records ``records`` pages through (a count query; never capped)."""
        stmt = select(func.count()).select_from(InboundRecord)
        stmt = stmt.where(*self._record_filter(principal, state, agreement_id, batch_id, person_id))
        return int(self.session.scalar(stmt) or 0)

    def _record_filter(
        self,
        principal: Principal,
        state: str | None,
        agreement_id: uuid.UUID | None,
        batch_id: uuid.UUID | None,
        person_id: uuid.UUID | None,
    ) -> list[Any]:
        if state is not None and state not in set(InboundState):
            raise InvalidInput(f"state must be one of {', '.join(InboundState)}", field="state")
        where: list[Any] = []
        if not principal.has(*STAFF):
            if principal.organisation_id is None:
                raise Forbidden("only a partner organisation or staff may list inbound records")
            where.append(InboundRecord.discloser_org_id == principal.organisation_id)
        if state:
            where.append(InboundRecord.state == state)
        if agreement_id:
            where.append(InboundRecord.agreement_id == agreement_id)
        if batch_id:
            where.append(InboundRecord.batch_id == batch_id)
        if person_id:
            where.append(InboundRecord.person_id == person_id)
        return where

    def batches(
        self, principal: Principal, *, agreement_id: uuid.UUID | None = None, limit: int = 50
    ) -> list[InboundBatch]:
        stmt = select(InboundBatch)
        if not principal.has(*STAFF):
            if principal.organisation_id is None:
                raise Forbidden("only a partner organisation or staff may list submissions")
            stmt = stmt.where(InboundBatch.discloser_org_id == principal.organisation_id)
        if agreement_id:
            stmt = stmt.where(InboundBatch.agreement_id == agreement_id)
        stmt = stmt.order_by(InboundBatch.created_at.desc(), InboundBatch.id.desc())
        return list(self.session.scalars(stmt.limit(limit)))

    def propose(self, record_id: uuid.UUID, principal: Principal, note: str = "") -> InboundRecord:
        """A caseworker proposes the information is accurate; a second must verify it."""
        principal.require(CASEWORKER)
        row = self._open(record_id, principal, (InboundState.UNVERIFIED,))
        high = [f for f in row.findings if f.get("severity") == "high"]
        if high:
            raise Conflict(
                "this record has a high-severity data-quality finding; dismiss it instead"
            )
        row.state = InboundState.PROPOSED
        row.proposed_by = principal.user_id
        row.proposed_at = utcnow()
        row.note = note.strip()[:2000]
        self._audit("exchange.inbound_propose", principal, row)
        return row

    def verify(self, record_id: uuid.UUID, principal: Principal) -> InboundRecord:
        """A second caseworker verifies the proposed information (four eyes)."""
        principal.require(CASEWORKER)
        row = self._open(record_id, principal, (InboundState.PROPOSED,))
        if principal.user_id is None or principal.user_id == row.proposed_by:
            raise Forbidden("a second caseworker, not the one who proposed it, must verify it")
        row.state = InboundState.VERIFIED
        row.decided_by = principal.user_id
        row.decided_at = utcnow()
        self._audit("exchange.inbound_verify", principal, row)
        return row

    def dismiss(self, record_id: uuid.UUID, principal: Principal, reason: str) -> InboundRecord:
        principal.require(CASEWORKER)
        if not reason.strip():
            raise InvalidInput("say why the information is dismissed", field="reason")
        row = self._open(record_id, principal, (InboundState.UNVERIFIED, InboundState.PROPOSED))
        row.state = InboundState.DISMISSED
        row.decided_by = principal.user_id
        row.decided_at = utcnow()
        row.note = reason.strip()[:2000]
        self._audit("exchange.inbound_dismiss", principal, row)
        return row

    # internals ---------------------------------------------------------------------
    def _agreement(
        self, principal: Principal, ref: str | uuid.UUID, purpose: str | None
    ) -> tuple[Agreement, str]:
        if principal.organisation_id is None:
            raise Forbidden("records are sent by a partner organisation")
        found = self._agreements.get(str(ref))
        if found is None:
            found = self._agreements[str(ref)] = resolve_agreement(self.session, ref)
        if principal.organisation_id not in found.disclosers():
            raise InvalidInput(
                f"agreement {found.reference} does not let your organisation send data: "
                "it runs the other way, or your organisation is not a party",
                field="agreement",
            )
        if not operator_ids(self.session).intersection(found.recipients()):
            raise InvalidInput(
                f"agreement {found.reference} does not send data to the Home Office",
                field="agreement",
            )
        code = purpose or (found.purposes[0] if found.purposes else "")
        if code not in PURPOSES:
            raise InvalidInput(f"unknown purpose '{str(code)[:40]}'", field="purpose")
        return found, code

    def _batch(
        self,
        principal: Principal,
        agreement: Agreement,
        *,
        source: str,
        mode: str,
        file_name: str = "",
    ) -> InboundBatch:
        recipients = agreement.recipients()
        batch = InboundBatch(
            reference=f"IN-{uuid.uuid4().hex[:10].upper()}",
            agreement_id=agreement.id,
            discloser_org_id=principal.organisation_id,
            recipient_org_id=recipients[0] if recipients else None,
            source=source,
            mode=mode,
            file_name=file_name,
            submitted_by_user=principal.user_id,
            submitted_by_key=principal.api_key_id,
            refusals={},
        )
        self.session.add(batch)
        self.session.flush()
        return batch

    def _open(
        self, record_id: uuid.UUID, principal: Principal, states: tuple[str, ...]
    ) -> InboundRecord:
        row = self.get(record_id, principal)
        if row.state not in states:
            raise Conflict(f"this record is {row.state}")
        return row

    def _may_see(self, discloser: uuid.UUID, principal: Principal) -> bool:
        return principal.has(*STAFF) or principal.organisation_id == discloser

    def _audit(self, action: str, principal: Principal, row: InboundRecord) -> None:
        append(
            self.session,
            AuditRecord(
                action=action,
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=row.agreement_id,
                subject_ref=str(row.person_id) if row.person_id else None,
                details={"inbound_record": str(row.id), "state": row.state},
            ),
        )


def _column_map(header: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """File column → record field. Explicit ``mapping`` (field → column) first, then every
    other header column by its own name (data items are kept, the rest dropped and named)."""
    wanted = set(DATA_ITEMS) | {RECORD_ID, CATEGORIES}
    out: dict[str, str] = {}
    for key, column in mapping.items():
        # JSON can carry a lone surrogate or a list here: neither names a column, and a
        # surrogate quoted back in the refusal cannot be written.
        if not (isinstance(key, str) and isinstance(column, str) and (key + column).isprintable()):
            raise InvalidInput("the mapping names each data item's column as text", field="mapping")
        if key not in wanted:
            raise InvalidInput(
                f"unknown field '{str(key)[:40]}' in the mapping (use data items, "
                f"{RECORD_ID} or {CATEGORIES})",
                field="mapping",
            )
        if column not in header:
            raise InvalidInput(f"the file has no column '{str(column)[:60]}'", field="mapping")
        out[column] = key
    for column in header:
        if column and column not in out and column not in mapping.values():
            out[column] = column
    if not any(v in DATA_ITEMS for v in out.values()):
        raise InvalidInput("no column of the file is a data item", field="mapping")
    return out


def _duplicates(rows: list[ParsedRow], errors: list[RowError]) -> None:
    seen: set[str] = set()
    for r in rows:
        if not r.record_id:
            continue
        if r.record_id in seen:
            errors.append(RowError(r.line or 0, RECORD_ID, "duplicate record id"))
        seen.add(r.record_id)


def _dob(values: Mapping[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(values.get("date_of_birth") or ""))
    except ValueError:
        return None


def _norm(name: str) -> str:
    return " ".join(name.lower().split())


def _findings(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The register's data-quality rules, run on the record as a person-like record."""
    record = {
        "id": "inbound",
        "has_name": bool(data.get("name")),
        "date_of_birth": _dob(data),
        "nationality": data.get("nationality"),
    }
    # Only rules that read a record on its own; nationality is asked only where carried.
    found = run_rules(
        Register(persons=[record], on=today()), only=["missing_fields", "implausible_dates"]
    )
    out = []
    for f in found:
        message = f.message.replace("person is missing", "record is missing")
        if "nationality" in message and "nationality" not in data:
            message = message.replace(", nationality", "").replace(": nationality", ":")
            if message.rstrip().endswith(":"):
                continue
        out.append({"rule": f.rule, "message": message, "severity": f.severity})
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

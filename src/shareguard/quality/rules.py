"""Data-quality rules: pure functions over plain records, returning findings.

Records are plain mappings (the service reads them from the register), so each rule is
tested table-driven without a database. A finding names ids and fields, never values: it is
shown in queues and logs, which must not carry personal data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

Record = Mapping[str, Any]

#: Earliest plausible date of birth in the register.
EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class Finding:
    """One problem with one record. ``person_id`` lets the queue suspend watch-list entries."""

    rule: str
    person_id: str | None
    record_kind: str  # person | status_record | decision | watch_list_entry
    record_id: str
    message: str
    severity: str = "medium"  # low | medium | high


@dataclass(frozen=True)
class Register:
    """A snapshot of the register as plain records (see each rule for the keys it reads)."""

    persons: Sequence[Record] = ()
    status_records: Sequence[Record] = ()
    decisions: Sequence[Record] = ()
    watch_list: Sequence[Record] = ()
    on: date = field(default_factory=date.today)


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def missing_fields(reg: Register) -> list[Finding]:
    """Persons without a name or date of birth; status records and decisions without evidence."""
    out: list[Finding] = []
    for p in reg.persons:
        missing = [f for f in ("date_of_birth", "nationality") if not p.get(f)]
        if not p.get("has_name"):
            missing.insert(0, "name")
        if missing:
            out.append(
                Finding(
                    "missing_fields",
                    _s(p["id"]),
                    "person",
                    _s(p["id"]),
                    f"person is missing: {', '.join(missing)}",
                    "high" if "date_of_birth" in missing or "name" in missing else "low",
                )
            )
    for kind, rows in (("status_record", reg.status_records), ("decision", reg.decisions)):
        for r in rows:
            if r.get("superseded"):
                continue
            missing = [f for f in ("source", "evidence_ref") if not r.get(f)]
            if missing:
                out.append(
                    Finding(
                        "missing_fields",
                        _s(r.get("person_id")),
                        kind,
                        _s(r["id"]),
                        f"{kind.replace('_', ' ')} is missing: {', '.join(missing)}",
                    )
                )
    return out


def implausible_dates(reg: Register) -> list[Finding]:
    """Births in the future or before 1900; leave ending before it starts; facts before birth."""
    out: list[Finding] = []
    births: dict[str, date] = {}
    for p in reg.persons:
        dob = p.get("date_of_birth")
        if dob is None:
            continue
        births[_s(p["id"])] = dob
        if dob > reg.on or dob < EARLIEST_BIRTH:
            out.append(
                Finding(
                    "implausible_dates",
                    _s(p["id"]),
                    "person",
                    _s(p["id"]),
                    "date_of_birth is in the future or before 1900",
                    "high",
                )
            )
    for r in reg.status_records:
        if r.get("superseded"):
            continue
        start, end = r.get("valid_from"), r.get("valid_to")
        dob = births.get(_s(r.get("person_id")))
        problems = []
        if start and end and end < start:
            problems.append("valid_to is before valid_from")
        if start and dob and start < dob:
            problems.append("valid_from is before the date of birth")
        if problems:
            out.append(
                Finding(
                    "implausible_dates",
                    _s(r.get("person_id")),
                    "status_record",
                    _s(r["id"]),
                    "; ".join(problems),
                    "high",
                )
            )
    for d in reg.decisions:
        if d.get("superseded"):
            continue
        decided = d.get("decided_on")
        dob = births.get(_s(d.get("person_id")))
        problems = []
        if decided and decided > reg.on:
            problems.append("decided_on is in the future")
        if decided and dob and decided < dob:
            problems.append("decided_on is before the date of birth")
        if problems:
            out.append(
                Finding(
                    "implausible_dates",
                    _s(d.get("person_id")),
                    "decision",
                    _s(d["id"]),
                    "; ".join(problems),
                    "high",
                )
            )
    return out


def contradictory_fields(reg: Register) -> list[Finding]:
    """Fields that cannot all be true at once (e.g. a final decision with an appeal pending)."""
    out: list[Finding] = []
    for r in reg.status_records:
        if r.get("superseded"):
            continue
        problems = []
        # may_work/may_rent default to True and mean nothing without leave, so only
        # deliberate entries (public funds, work conditions) contradict no_leave.
        if r.get("kind") == "no_leave" and (r.get("public_funds") or r.get("work_conditions")):
            problems.append("no_leave with access to public funds or work conditions")
        if r.get("kind") == "settled" and r.get("valid_to") is not None:
            problems.append("settled status with an end date")
        if problems:
            out.append(
                Finding(
                    "contradictory_fields",
                    _s(r.get("person_id")),
                    "status_record",
                    _s(r["id"]),
                    "; ".join(problems),
                )
            )
    for d in reg.decisions:
        if d.get("superseded"):
            continue
        if d.get("final") and d.get("appeal_state") in {"lodged", "pending"}:
            out.append(
                Finding(
                    "contradictory_fields",
                    _s(d.get("person_id")),
                    "decision",
                    _s(d["id"]),
                    "decision marked final while an appeal is lodged or pending",
                    "high",
                )
            )
    return out


def conflicting_status_records(reg: Register) -> list[Finding]:
    """Two current status records of one person, of different kinds, valid on the same day."""
    by_person: dict[str, list[Record]] = defaultdict(list)
    for r in reg.status_records:
        if not r.get("superseded"):
            by_person[_s(r.get("person_id"))].append(r)
    out: list[Finding] = []
    for person, rows in by_person.items():
        rows = sorted(rows, key=lambda r: (r.get("valid_from") or date.min, _s(r["id"])))
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                if a.get("kind") == b.get("kind"):
                    continue
                a_end = a.get("valid_to") or date.max
                b_end = b.get("valid_to") or date.max
                if (b.get("valid_from") or date.min) <= a_end and (
                    a.get("valid_from") or date.min
                ) <= b_end:
                    out.append(
                        Finding(
                            "conflicting_status_records",
                            person,
                            "status_record",
                            _s(b["id"]),
                            f"overlaps status record {_s(a['id'])} with a different kind",
                            "high",
                        )
                    )
    return out


def watch_list_basis_changed(reg: Register) -> list[Finding]:
    """Active watch-list entries whose decision was superseded, overturned, appealed or unmade.

    A watch-list entry reads ``decision_id`` and ``person_id``; a decision reads
    ``superseded``, ``overturned``, ``final`` and ``appeal_state``. An entry is also flagged
    when its person now holds current leave (a status record valid today, not ``no_leave``).
    """
    decisions = {_s(d["id"]): d for d in reg.decisions}
    leave: set[str] = {
        _s(r.get("person_id"))
        for r in reg.status_records
        if not r.get("superseded")
        and r.get("kind") != "no_leave"
        and (r.get("valid_from") or date.min) <= reg.on
        and (r.get("valid_to") is None or reg.on <= r["valid_to"])
    }
    out: list[Finding] = []
    for e in reg.watch_list:
        if not e.get("active", True):
            continue
        d = decisions.get(_s(e.get("decision_id")))
        reasons = []
        if d is None:
            reasons.append("its decision is missing")
        else:
            if d.get("superseded") or d.get("overturned"):
                reasons.append("its decision was superseded or overturned")
            if not d.get("final"):
                reasons.append("its decision is no longer final")
            if d.get("appeal_state") in {"lodged", "pending"}:
                reasons.append("an appeal is lodged or pending")
        if _s(e.get("person_id")) in leave:
            reasons.append("the person now holds current leave")
        if reasons:
            out.append(
                Finding(
                    "watch_list_basis_changed",
                    _s(e.get("person_id")),
                    "watch_list_entry",
                    _s(e["id"]),
                    "; ".join(reasons),
                    "high",
                )
            )
    return out


RULES: dict[str, Callable[[Register], list[Finding]]] = {
    "missing_fields": missing_fields,
    "implausible_dates": implausible_dates,
    "contradictory_fields": contradictory_fields,
    "conflicting_status_records": conflicting_status_records,
    "watch_list_basis_changed": watch_list_basis_changed,
}


def run_rules(reg: Register, only: Iterable[str] | None = None) -> list[Finding]:
    """Every finding of the named rules (default: all), in rule order."""
    names = list(only) if only is not None else list(RULES)
    unknown = [n for n in names if n not in RULES and n != "likely_duplicates"]
    if unknown:
        raise ValueError(f"unknown rule(s): {', '.join(unknown)}")
    out: list[Finding] = []
    for name in names:
        if name in RULES:
            out.extend(RULES[name](reg))
    return out


def duplicate_findings(pairs: Iterable[tuple[str, str, float]]) -> list[Finding]:
    """Findings for likely duplicate persons from ``(person_a, person_b, probability)`` pairs."""
    out = []
    for a, b, p in pairs:
        first, second = sorted((a, b))
        out.append(
            Finding(
                "likely_duplicates",
                second,
                "person",
                second,
                f"likely the same person as {first} (match probability {p:.2f})",
                "high" if p >= 0.99 else "medium",
            )
        )
    return out

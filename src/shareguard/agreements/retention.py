"""Retention as data: how long each kind of record an agreement creates or receives is kept.

An agreement states one rule per kind of record, as an ISO 8601 duration from a named event::

    retention_rules:
      check: P1Y after check          # a check record: one year after the check
      match_run: P6M after run        # a match run's results and output files
      partner_dataset: P30D after import

The free-text ``retention`` field stays as the explanation people read; these rules are what
``shareguard retention run`` enforces (``shareguard.retention``). Pure functions only: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class RecordKind:
    """A kind of record retention rules govern."""

    code: str
    title: str
    #: The events a period may run from, first the usual one.
    events: tuple[str, ...]
    #: What a run does to a record past its period, in plain English.
    treatment: str
    #: Agreement directions (``agreements.direction``) that must state a rule for this kind;
    #: empty for kinds the operator's settings govern (records made under no agreement).
    directions: tuple[str, ...] = ()
    #: Only bulk agreements need a rule for it (match runs and the datasets they read).
    bulk_only: bool = False


#: The named events a retention period may run from.
EVENTS: dict[str, str] = {
    "check": "the check",
    "run": "the match run ended",
    "import": "the partner's dataset was imported",
    "request": "the request was made",
    "answer": "the request was answered or closed",
    "receipt": "the record was received",
    "decision": "a caseworker verified or dismissed the record",
    "expiry": "it expired or was revoked",
}

#: Kinds an agreement's rules govern, keyed by code.
RECORD_KINDS: dict[str, RecordKind] = {
    k.code: k
    for k in [
        RecordKind(
            "check",
            "Check records",
            ("check",),
            "pseudonymised: the link to the person, the match score, the disclosure's subject "
            "and record references and closed cases' statements are removed; the check "
            "reference, time and outcome stay for reports",
            directions=("outbound", "between_partners"),
        ),
        RecordKind(
            "match_run",
            "Match-run results and output files",
            ("run",),
            "output files deleted; candidates' partner references, explanations and review "
            "notes removed; the disclosures' subject references removed",
            directions=("outbound",),
            bulk_only=True,
        ),
        RecordKind(
            "partner_dataset",
            "Partner datasets and quarantine files",
            ("import",),
            "the dataset file and its quarantine file deleted (not while a match run uses it)",
            directions=("outbound",),
            bulk_only=True,
        ),
        RecordKind(
            "request",
            "Requests to partners and their answers",
            ("answer", "request"),
            "the answer's data, the reason, the proportionality note and the partner's note "
            "removed (never while the request is open)",
            directions=("inbound",),
        ),
        RecordKind(
            "inbound",
            "Records partners send in",
            ("receipt", "decision"),
            "the record's data, the partner's reference, the link to the person and the notes "
            "removed (never while a second caseworker's verification is pending)",
            directions=("inbound",),
        ),
    ]
}

#: Kinds made under no agreement: the operator's settings give their rules.
OPERATOR_KINDS: dict[str, RecordKind] = {
    k.code: k
    for k in [
        RecordKind("share_code", "Share codes", ("expiry",), "deleted"),
        RecordKind(
            "credential",
            "Issued credentials",
            ("expiry",),
            "the signed document removed; the id, dates and revocation stay",
        ),
    ]
}

ALL_KINDS: dict[str, RecordKind] = {**RECORD_KINDS, **OPERATOR_KINDS}

_PERIOD = re.compile(r"^P(?:(\d{1,4})Y)?(?:(\d{1,4})M)?(?:(\d{1,4})W)?(?:(\d{1,5})D)?$")
#: The rule's text form, for JSON Schema: a period, "after", an event.
PATTERN = (
    r"^P(?:\d{1,4}Y)?(?:\d{1,4}M)?(?:\d{1,4}W)?(?:\d{1,5}D)? after (?:" + "|".join(EVENTS) + r")$"
)


@dataclass(frozen=True)
class Period:
    """An ISO 8601 duration of whole years, months, weeks and days (``P1Y``, ``P30D``)."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    def before(self, moment: datetime) -> datetime:
        """``moment`` minus this period, in calendar terms (31 March − P1M is 28/29 February)."""
        month0 = moment.year * 12 + moment.month - 1 - self.years * 12 - self.months
        year, month = divmod(month0, 12)
        month += 1
        day = min(moment.day, _month_days(year, month))
        shifted = moment.replace(year=year, month=month, day=day)
        return shifted - timedelta(weeks=self.weeks, days=self.days)

    @property
    def text(self) -> str:
        parts = [(self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D")]
        body = "".join(f"{n}{u}" for n, u in parts if n)
        return "P" + (body or "0D")

    @property
    def words(self) -> str:
        names = [
            (self.years, "year"),
            (self.months, "month"),
            (self.weeks, "week"),
            (self.days, "day"),
        ]
        said = [f"{n} {w}{'s' if n != 1 else ''}" for n, w in names if n]
        return " ".join(said) or "no time"


@dataclass(frozen=True)
class Rule:
    """One retention rule: records of ``kind`` go ``period`` after ``event``."""

    kind: str
    period: Period
    event: str

    @property
    def text(self) -> str:
        return f"{self.period.text} after {self.event}"

    @property
    def words(self) -> str:
        return f"{self.period.words} after {EVENTS[self.event]}"

    def cutoff(self, now: datetime) -> datetime:
        """Records whose event happened before this moment are past their period."""
        if now.tzinfo is None:
            raise ValueError("cutoff needs a timezone-aware time")
        return self.period.before(now.astimezone(UTC))


def parse_period(text: str) -> Period:
    """``P1Y``, ``P6M``, ``P2W``, ``P30D``, ``P1Y6M``: whole units only. Raises ValueError."""
    found = _PERIOD.match(text.strip())
    if not found or text.strip() == "P":
        raise ValueError(
            "the period must be an ISO 8601 duration of years, months, weeks or days, "
            "such as P1Y, P6M or P30D"
        )
    y, m, w, d = (int(g) if g else 0 for g in found.groups())
    return Period(y, m, w, d)


def parse_rule(kind: str, text: str) -> Rule:
    """Parse ``"P1Y after check"`` for ``kind``. Raises ValueError saying what is accepted."""
    if kind not in ALL_KINDS:
        raise ValueError(f"unknown kind of record {kind!r}; known: {', '.join(ALL_KINDS)}")
    events = ALL_KINDS[kind].events
    period_text, sep, event = text.strip().partition(" after ")
    if not sep:
        raise ValueError(f"{kind}: write a period and its event, such as '{_example(kind)}'")
    period = parse_period(period_text)
    event = event.strip()
    if event not in events:
        raise ValueError(f"{kind}: the period runs from one of: {', '.join(events)}")
    return Rule(kind, period, event)


def parse_rules(rules: dict[str, str]) -> dict[str, Rule]:
    """Every rule of an agreement, parsed; ValueError names the first kind at fault."""
    out = {}
    for kind, text in rules.items():
        if kind not in RECORD_KINDS:
            raise ValueError(
                f"unknown kind of record {kind!r}; an agreement's rules cover: "
                + ", ".join(RECORD_KINDS)
            )
        out[kind] = parse_rule(kind, text)
    return out


def required_kinds(direction: str, bulk: bool) -> list[str]:
    """The kinds an agreement of this direction must state a rule for before activation."""
    return [
        k.code
        for k in RECORD_KINDS.values()
        if direction in k.directions and (bulk or not k.bulk_only)
    ]


def missing_rules(rules: dict[str, str] | None, direction: str, bulk: bool) -> list[str]:
    """Checklist titles for kinds with no valid rule (empty when the rules are complete)."""
    rules = rules or {}
    missing = []
    for code in required_kinds(direction, bulk):
        text = rules.get(code)
        try:
            if text is None:
                raise ValueError
            parse_rule(code, text)
        except ValueError:
            missing.append(
                f"machine-readable retention for {RECORD_KINDS[code].title.lower()} "
                f"(e.g. '{_example(code)}')"
            )
    return missing


def schema() -> dict[str, object]:
    """The JSON Schema of an agreement's ``retention_rules``."""
    return {
        "type": "object",
        "description": "Retention per kind of record: an ISO 8601 duration from a named "
        "event, e.g. 'P1Y after check'. "
        + "; ".join(f"{k.code}: after {' or '.join(k.events)}" for k in RECORD_KINDS.values()),
        "propertyNames": {"enum": list(RECORD_KINDS)},
        "additionalProperties": {"type": "string", "pattern": PATTERN},
        "examples": [{"check": "P1Y after check"}],
    }


def _example(kind: str) -> str:
    return {
        "check": "P1Y after check",
        "match_run": "P6M after run",
        "partner_dataset": "P30D after import",
        "request": "P2Y after answer",
        "inbound": "P2Y after receipt",
        "share_code": "P30D after expiry",
        "credential": "P1Y after expiry",
    }[kind]


def _month_days(year: int, month: int) -> int:
    nxt = datetime(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day

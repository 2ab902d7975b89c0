"""Reports as table rows and CSV (flattened ``a.b.c`` columns, one row per section)."""

from __future__ import annotations

from typing import Any

from shareguard.csvfile import dicts_to_csv
from shareguard.reports.metrics import flatten

#: The headline columns of the table view, in order.
HEADLINE = [
    ("reference", "Agreement"),
    ("disclosures.total", "Disclosures"),
    ("checks.total", "Checks"),
    ("checks.referral_rate", "Referral rate"),
    ("checks.contest_rate", "Contest rate"),
    ("matching.candidates", "Candidates"),
    ("matching.confirmed", "Confirmed"),
    ("matching.adverse_actions", "Adverse actions"),
    ("matching.overturned", "Overturned"),
    ("matching.error_rate", "Error rate"),
    ("corrections.corrections", "Corrections"),
    ("corrections.notices", "Rectification notices"),
    ("corrections.acknowledged", "Acknowledged"),
    ("corrections.overdue", "Overdue"),
    ("corrections.escalated", "Escalated"),
    ("corrections.time_to_rectify.median_hours", "Median hours to rectify"),
    ("refusals.total", "Refused (any reason)"),
    ("refusals.by_kind.firewall", "Refused by the firewall"),
    ("exchange.requests.total", "Requests to partners"),
    ("exchange.requests.answered", "Requests answered"),
    ("exchange.requests.not_held", "Answered: not held"),
    ("exchange.requests.refused", "Requests refused"),
    ("exchange.requests.refused_by_firewall", "Requests refused by the firewall"),
    ("exchange.requests.response_time.median_hours", "Median hours to answer"),
    ("exchange.inbound.accepted", "Inbound records accepted"),
    ("exchange.inbound.refused", "Inbound records refused"),
    ("exchange.inbound.quarantined", "Inbound rows quarantined"),
    ("pause_effect.blocked_by_pause", "Requests refused by pauses"),
    ("pause_effect.share_blocked", "Share of requests refused by pauses"),
    ("matching.kept_out", "Kept out of match runs (any reason)"),
    ("pause_effect.kept_out_by_pause", "Kept out of match runs by pauses"),
    ("volume.busiest_day", "Busiest day"),
    ("volume.limit_per_day", "Daily limit"),
    ("exemptions_used", "Exemptions"),
]


def sections(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-agreement sections followed by the overall one (a single report: itself)."""
    rows = list(report.get("agreements", []))
    rows.append({k: v for k, v in report.items() if k != "agreements"})
    return rows


def table_rows(section: dict[str, Any]) -> list[tuple[str, str]]:
    """``(metric title, value)`` rows of one section's headline figures."""
    flat = flatten(section)
    return [
        (title, "" if flat.get(key) is None else str(flat.get(key)))
        for key, title in HEADLINE
        if key != "reference"
    ]


def to_csv(report: dict[str, Any]) -> str:
    flats = []
    for section in sections(report):
        flat = flatten(section)
        flat["reference"] = section.get("reference") or "all"
        flats.append(flat)
    columns: list[str] = []
    for flat in flats:
        columns += [c for c in flat if c not in columns]
    return dicts_to_csv(flats, columns)

"""The public transparency register: every non-draft agreement, no personal data.

Its JSON shape is published as ``schemas/transparency.schema.json`` at the repository
root; tests validate the export against it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.direction import direction_of, operator_ids
from shareguard.agreements.models import Agreement, AgreementState
from shareguard.agreements.retention import RECORD_KINDS, parse_rule
from shareguard.capabilities import hooks
from shareguard.csvfile import dicts_to_csv
from shareguard.storage.base import today, utcnow

CSV_COLUMNS = [
    "reference",
    "title",
    "status",
    "review_lapsed",
    "purposes",
    "direction",
    "disclosers",
    "recipients",
    "legal_gateway",
    "lawful_basis",
    "special_category_condition",
    "data_items",
    "special_category_items",
    "bulk",
    "frequency",
    "limit_per_day",
    "start_date",
    "end_date",
    "review_date",
    "contact_point",
    "retention",
    "retention_rules",
]


def register(session: Session) -> dict[str, Any]:
    """The register as a JSON-ready dict (see the published schema)."""
    names = {o.id: o.name for o in session.scalars(select(Organisation))}
    stmt = (
        select(Agreement)
        .where(Agreement.state != AgreementState.DRAFT)
        .order_by(Agreement.reference)
    )
    on = today()
    operators = operator_ids(session)
    extra_fields = hooks("transparency.extra_fields")  # e.g. reports' yearly volumes
    entries = []
    for a in session.scalars(stmt):
        entry: dict[str, Any] = {
            "reference": a.reference,
            "title": a.title,
            "summary": a.summary,
            "status": a.state,
            "review_lapsed": a.review_lapsed(on),
            "purposes": [{"code": p, "title": PURPOSES[p].title} for p in a.purposes],
            "direction": direction_of(a.disclosers(), a.recipients(), operators),
            "disclosers": [names[o] for o in a.disclosers()],
            "recipients": [names[o] for o in a.recipients()],
            "parties": [
                {
                    "organisation": names[p.organisation_id],
                    "role": p.role,
                    "controller_role": p.controller_role,
                }
                for p in a.parties
            ],
            "legal_gateway": {
                "statute": a.legal_gateway_statute,
                "section": a.legal_gateway_section,
            },
            "lawful_basis": a.lawful_basis,
            "special_category_condition": a.special_category_condition or None,
            "data_items": [
                {
                    "code": i,
                    "title": DATA_ITEMS[i].title,
                    "special_category": DATA_ITEMS[i].special_category,
                    "criminal_offence": DATA_ITEMS[i].criminal_offence,
                }
                for i in a.data_items
            ],
            "bulk": a.bulk,
            "frequency": a.frequency or None,
            "limit_per_day": a.limit_per_day,
            "limit_per_run": a.limit_per_run,
            "start_date": _iso(a.start_date),
            "end_date": _iso(a.end_date),
            "review_date": _iso(a.review_date),
            "contact_point": a.contact_point or None,
            "retention": retention_of(a),
        }
        for extra in extra_fields:
            entry.update(extra(session, a))
        entries.append(entry)
    return {"generated_at": utcnow().isoformat(), "agreements": entries}


def register_csv(session: Session) -> str:
    rows = []
    for e in register(session)["agreements"]:
        rows.append(
            {
                "reference": e["reference"],
                "title": e["title"],
                "status": e["status"],
                "review_lapsed": str(e["review_lapsed"]).lower(),
                "purposes": "; ".join(p["code"] for p in e["purposes"]),
                "direction": e["direction"],
                "disclosers": "; ".join(e["disclosers"]),
                "recipients": "; ".join(e["recipients"]),
                "legal_gateway": " ".join(
                    filter(None, [e["legal_gateway"]["statute"], e["legal_gateway"]["section"]])
                ),
                "lawful_basis": e["lawful_basis"],
                "special_category_condition": e["special_category_condition"] or "",
                "data_items": "; ".join(i["code"] for i in e["data_items"]),
                "special_category_items": "; ".join(
                    i["code"]
                    for i in e["data_items"]
                    if i["special_category"] or i["criminal_offence"]
                ),
                "bulk": str(e["bulk"]).lower(),
                "frequency": e["frequency"] or "",
                "limit_per_day": e["limit_per_day"] or "",
                "start_date": e["start_date"] or "",
                "end_date": e["end_date"] or "",
                "review_date": e["review_date"] or "",
                "contact_point": e["contact_point"] or "",
                "retention": e["retention"]["explanation"],
                "retention_rules": "; ".join(
                    f"{r['kind']}: {r['rule']}" for r in e["retention"]["rules"]
                ),
            }
        )
    return dicts_to_csv(rows, CSV_COLUMNS)


def retention_of(a: Agreement) -> dict[str, Any]:
    """The agreement's retention: its explanation and its machine-readable rules."""
    rules = []
    for kind, text in (a.retention_rules or {}).items():
        rule = parse_rule(kind, text)
        rules.append(
            {
                "kind": kind,
                "title": RECORD_KINDS[kind].title,
                "rule": rule.text,
                "period": rule.period.text,
                "event": rule.event,
                "words": rule.words,
            }
        )
    return {"explanation": a.retention, "rules": rules}


def _iso(d: Any) -> str | None:
    return d.isoformat() if d else None

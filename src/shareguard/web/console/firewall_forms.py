"""Reading the pause and firewall-change forms, and saying in plain English what a pause does.

Each reader returns the service's input (``PauseIn`` or ``FirewallProposalIn``) or a dict of
errors keyed by the form field at fault, so a page can show them beside the answers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.policy.schemas import CATEGORIES, FirewallProposalIn, FirewallRuleFields, PauseIn
from shareguard.storage.base import today, utcnow
from shareguard.web.console.render import _date as govuk_date
from shareguard.web.console.security import date_field

ACTIONS = {
    "check": ("Real-time checks", "checks"),
    "bulk_disclosure": ("Bulk disclosures (watch lists and match results)", "bulk disclosures"),
    "export": ("Exports", "exports"),
    "subject_access": ("Subject access", "subject access answers"),
}
CATEGORY_TITLES = {
    "pupil": "Pupils",
    "patient": "Patients",
    "victim": "Victims of crime",
    "witness": "Witnesses of crime",
}
PAUSE_TEXT = ("title", "reason", "agreement", "age", "age_years")
DATES = ("start", "end")
PAUSE_FIELDS = (
    *PAUSE_TEXT,
    *(f"{d}-{p}" for d in DATES for p in ("day", "month", "year")),
)
RULE_TEXT = ("operation", "key", "rule", "title", "description", "reason")
LISTS = ("purposes", "actions", "categories", "data_items")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _join(items: list[str], word: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def values_of(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The form's answers as plain values (lists for checkboxes), kept in the session draft."""
    out: dict[str, Any] = {}
    for name in names:
        raw = form.get(name)
        out[name] = raw.strip() if isinstance(raw, str) else ""
    for name in LISTS:
        out[name] = [v for v in form.getlist(name) if isinstance(v, str) and v]
    return out


# pauses ------------------------------------------------------------------------------------
def _day(values: dict[str, Any], prefix: str) -> tuple[date | None, bool]:
    """A date typed as day, month and year (None unless real and between 1800 and 2999, so
    the day after it cannot overflow), and whether anything was typed at all."""
    if not any(values.get(f"{prefix}-{p}") for p in ("day", "month", "year")):
        return None, False
    return date_field(values, prefix), True


def _age(raw: str, errors: dict[str, str]) -> int | None:
    if not raw:
        errors["age_years"] = "Enter the age in years"
        return None
    if not raw.isdigit() or not 0 <= int(raw) <= 150:
        errors["age_years"] = "Age must be a whole number of years from 0 to 150"
        return None
    return int(raw)


def read_pause(values: dict[str, Any], agreements: dict[str, Any]) -> tuple[PauseIn | None, dict]:
    """The pause the answers describe, or the errors, field by field (nothing is written)."""
    errors: dict[str, str] = {}
    title, reason = values.get("title", ""), values.get("reason", "")
    if len(title) < 5:
        errors["title"] = "Enter a title for the pause of at least 5 characters"
    elif len(title) > 300:
        errors["title"] = "Title must be 300 characters or fewer"
    if len(reason) < 3:
        errors["reason"] = "Enter the reason for the pause"
    agreement = values.get("agreement", "")
    if agreement not in ("", "all") and agreement not in agreements:
        errors["agreement"] = "Select an agreement from the list, or every agreement"
    purposes = [p for p in values.get("purposes", []) if p in PURPOSES]
    if len(purposes) != len(values.get("purposes", [])):
        errors["purposes"] = "Select purposes from the list"
    actions = [a for a in values.get("actions", []) if a in ACTIONS]
    if len(actions) != len(values.get("actions", [])):
        errors["actions"] = "Select kinds of sharing from the list"
    age_over = age_under = None
    age = values.get("age", "")
    if age == "over":
        age_over = _age(values.get("age_years", ""), errors)
    elif age == "under":
        age_under = _age(values.get("age_years", ""), errors)
    elif age:
        errors["age"] = "Select whether the pause depends on the person's age"
    start, typed = _day(values, "start")
    on = today()
    if typed and start is None:
        errors["start"] = "Start date must be a real date, for example 1 12 2026"
    elif start is not None and start < on:
        errors["start"] = "Start date must be today or in the future"
    end, typed = _day(values, "end")
    if typed and end is None:
        errors["end"] = "End date must be a real date, for example 31 12 2026"
    elif end is not None and end < (start or on):
        errors["end"] = "End date must be the same as or after the start date"
    if errors:
        return None, errors
    # A start today means now (not midnight); the pause runs to the end of its last day.
    starts_at = None if start in (None, on) else datetime.combine(start, time(), UTC)
    ends_at = datetime.combine(end + timedelta(days=1), time(), UTC) if end else None
    try:
        pause = PauseIn(
            title=title,
            reason=reason,
            agreements=[agreement] if agreement not in ("", "all") else [],
            purposes=purposes,
            actions=actions,
            age_over=age_over,
            age_under=age_under,
            starts_at=starts_at,
            ends_at=ends_at,
        )
    except ValidationError as exc:  # the checks above mirror PauseIn; this is a backstop
        loc = str(exc.errors()[0]["loc"][0])
        return None, {loc: _sentence(exc.errors()[0]["msg"])}
    return pause, {}


def pause_sentence(
    *,
    agreements: list[str],
    purposes: list[str],
    actions: list[str],
    age_over: int | None,
    age_under: int | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    now: datetime | None = None,
) -> str:
    """What the pause refuses, from when, e.g. "Checks under HO-DVLA-001 about people aged over
    30 will be refused from 24 November 2026 at 9:00am"."""
    what = _join([ACTIONS[a][1] for a in actions if a in ACTIONS]) if actions else "disclosures"
    text = _sentence(what)
    text += f" under {_join(agreements, 'or')}" if agreements else " under any agreement"
    if purposes:
        text += " for " + _join(
            [PURPOSES[p].title.lower() for p in purposes if p in PURPOSES], "or"
        )
    if age_over is not None:
        text += f" about people aged over {age_over}"
    elif age_under is not None:
        text += f" about people aged under {age_under}"
    if age_over is not None or age_under is not None:
        text += " on the date of the decision"
    now = now or utcnow()
    if starts_at is None:
        text += " will be refused as soon as you confirm"
    elif ends_at is not None and ends_at <= now:
        text += f" were refused from {govuk_date(starts_at)}"
    elif starts_at <= now:
        text += f" are refused from {govuk_date(starts_at)}"
    else:
        text += f" will be refused from {govuk_date(starts_at)}"
    if ends_at is not None:
        last = ends_at - timedelta(microseconds=1)
        text += f" until the end of {govuk_date(last.date())}"
    return text + "."


# firewall changes --------------------------------------------------------------------------
def read_proposal(
    values: dict[str, Any], rule_keys: set[str]
) -> tuple[FirewallProposalIn | None, dict[str, str]]:
    """The proposed firewall change, or the errors, field by field."""
    errors: dict[str, str] = {}
    operation = values.get("operation", "")
    if operation not in ("create", "update", "retire"):
        errors["operation"] = "Select whether to add, change or retire a rule"
    key = values.get("key", "") if operation == "create" else values.get("rule", "")
    if operation == "create":
        if not key:
            errors["key"] = "Enter a short name for the new rule"
        elif not (3 <= len(key) <= 60) or not _slug(key):
            errors["key"] = (
                "Short name must be 3 to 60 lowercase letters, digits or hyphens, "
                "starting with a letter or digit"
            )
        elif key in rule_keys:
            errors["key"] = "A rule with this short name exists: choose change a rule instead"
    elif operation in ("update", "retire") and key not in rule_keys:
        errors["rule"] = "Select the rule to change or retire"
    rule = None
    if operation in ("create", "update"):
        title = values.get("title", "")
        if len(title) < 5:
            errors["title"] = "Enter the rule's title of at least 5 characters"
        elif len(title) > 300:
            errors["title"] = "Title must be 300 characters or fewer"
        categories = values.get("categories", [])
        items = values.get("data_items", [])
        if any(c not in CATEGORIES for c in categories):
            errors["categories"] = "Select people protected from the list"
        if any(i not in DATA_ITEMS for i in items):
            errors["data_items"] = "Select data protected from the list"
        if any(p not in PURPOSES for p in values.get("purposes", [])):
            errors["purposes"] = "Select purposes from the list"
        if any(a not in ACTIONS for a in values.get("actions", [])):
            errors["actions"] = "Select kinds of sharing from the list"
        if not errors:
            rule = FirewallRuleFields(
                title=title,
                description=values.get("description", ""),
                categories=categories,
                data_items=items,
                purposes=values.get("purposes", []),
                actions=values.get("actions", []),
            )
    if len(values.get("reason", "")) < 3:
        errors["reason"] = "Enter the reason for the change"
    if errors:
        return None, errors
    try:
        return FirewallProposalIn(
            operation=operation, key=key, rule=rule, reason=values["reason"]
        ), {}
    except ValidationError as exc:  # a backstop: the checks above mirror the schema
        return None, {"operation": _sentence(exc.errors()[0]["msg"])}


def _slug(key: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    return key[0] != "-" and set(key) <= allowed

"""Report arithmetic: pure functions over plain rows (no database, no I/O).

The service reads rows from the register, the disclosures, checks, match runs, corrections
and the audit log; everything it reports is computed here, so each figure is tested against
hand-counted tables.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

Row = Mapping[str, Any]

PERIODS = ("day", "month", "quarter", "year")


def period_of(at: datetime | date, period: str) -> str:
    """The period label of a moment: ``2026-11-23``, ``2026-11``, ``2026-Q4`` or ``2026``."""
    if period == "day":
        return f"{at.year:04d}-{at.month:02d}-{at.day:02d}"
    if period == "month":
        return f"{at.year:04d}-{at.month:02d}"
    if period == "quarter":
        return f"{at.year:04d}-Q{(at.month - 1) // 3 + 1}"
    if period == "year":
        return f"{at.year:04d}"
    raise ValueError(f"period must be one of {', '.join(PERIODS)}")


def count_by(rows: Iterable[Row], *fields: str) -> dict[str, int]:
    """Counts keyed by the fields' values joined with ``|`` (missing values as ``none``)."""
    counter: Counter[str] = Counter(
        "|".join(str(r.get(f)) if r.get(f) is not None else "none" for f in fields) for r in rows
    )
    return dict(sorted(counter.items()))


def by_purpose_and_period(rows: Iterable[Row], period: str = "month") -> list[dict[str, Any]]:
    """``[{period, purpose, count}]`` by period then purpose; rows need ``purpose``, ``at``."""
    counter: Counter[tuple[str, str]] = Counter(
        (period_of(r["at"], period), str(r.get("purpose") or "none")) for r in rows
    )
    return [
        {"period": p, "purpose": purpose, "count": n} for (p, purpose), n in sorted(counter.items())
    ]


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator`` rounded to 4 places; None when nothing to divide by."""
    return None if denominator == 0 else round(numerator / denominator, 4)


def duration_stats(pairs: Iterable[tuple[datetime, datetime | None]]) -> dict[str, Any]:
    """Hours from start to end: count done, still open, median, mean and maximum hours."""
    hours: list[float] = []
    open_ = 0
    for start, end in pairs:
        if end is None:
            open_ += 1
        else:
            hours.append((end - start).total_seconds() / 3600)
    return {
        "done": len(hours),
        "open": open_,
        "median_hours": round(statistics.median(hours), 2) if hours else None,
        "mean_hours": round(statistics.fmean(hours), 2) if hours else None,
        "max_hours": round(max(hours), 2) if hours else None,
    }


def volume_against_limit(rows: Iterable[Row], limit_per_day: int | None) -> dict[str, Any]:
    """Busiest day's disclosures against the daily limit, and how many days exceeded it."""
    per_day = Counter(period_of(r["at"], "day") for r in rows)
    busiest = max(per_day.values()) if per_day else 0
    over = sum(1 for n in per_day.values() if limit_per_day is not None and n > limit_per_day)
    return {
        "limit_per_day": limit_per_day,
        "busiest_day": busiest,
        "days_with_disclosures": len(per_day),
        "days_over_limit": over,
        "peak_use": rate(busiest, limit_per_day) if limit_per_day else None,
    }


def checks_summary(checks: Sequence[Row]) -> dict[str, Any]:
    """Checks by outcome with referral and contest rates; rows need ``outcome``, ``contested``."""
    outcomes = count_by(checks, "outcome")
    total = len(checks)
    referred = outcomes.get("referred", 0)
    contested = sum(1 for c in checks if c.get("contested"))
    return {
        "total": total,
        "by_outcome": outcomes,
        "referral_rate": rate(referred, total),
        "contested": contested,
        "contest_rate": rate(contested, total),
    }


def match_summary(runs: Sequence[Row], adverse: Sequence[Row]) -> dict[str, Any]:
    """Match runs' candidates, reviews, confirmations, adverse actions and the error rate.

    ``runs`` rows carry ``candidates``, ``reviewed``, ``confirmed`` and may carry what the
    run's gate recorded: ``kept_out`` and ``kept_out_by_policy`` (``{kind: people}``);
    ``adverse`` rows carry ``overturned``. The error rate is adverse actions later overturned
    / adverse actions.
    """
    actions = len(adverse)
    overturned = sum(1 for a in adverse if a.get("overturned"))
    return {
        "runs": len(runs),
        "candidates": sum(int(r.get("candidates") or 0) for r in runs),
        "reviewed": sum(int(r.get("reviewed") or 0) for r in runs),
        "confirmed": sum(int(r.get("confirmed") or 0) for r in runs),
        "adverse_actions": actions,
        "overturned": overturned,
        "error_rate": rate(overturned, actions),
        **kept_out_figures(
            sum(int(r.get("kept_out") or 0) for r in runs),
            add_counts(*(r.get("kept_out_by_policy") or {} for r in runs)),
        ),
    }


def kept_out_figures(kept_out: int, by_policy: Mapping[str, int]) -> dict[str, Any]:
    """People match runs' gates kept out of the watch list (a person counts once per run):
    in all, and by the policy's refusal kind (``pause``, ``firewall``) for those a policy
    kept out. Not requests refused at the door: the door never saw them."""
    return {
        "kept_out": kept_out,
        "kept_out_by_policy": {k: int(n) for k, n in sorted(by_policy.items()) if n},
    }


def corrections_summary(
    corrections: Sequence[Row], notices: Sequence[Row], *, now: datetime
) -> dict[str, Any]:
    """Corrections, notices (acknowledged, overdue, escalated) and time to rectify.

    Notice rows carry ``disclosed_at``, ``acknowledged_at``, ``deadline``, ``escalated_at``;
    time to rectify runs from the first disclosure of the wrong data to acknowledgement.
    """
    acknowledged = sum(1 for n in notices if n.get("acknowledged_at"))
    overdue = sum(1 for n in notices if not n.get("acknowledged_at") and n["deadline"] < now)
    return {
        "corrections": len(corrections),
        "notices": len(notices),
        "acknowledged": acknowledged,
        "overdue": overdue,
        "escalated": sum(1 for n in notices if n.get("escalated_at")),
        "time_to_rectify": duration_stats(
            (n["disclosed_at"], n.get("acknowledged_at")) for n in notices
        ),
    }


def exchange_summary(requests: Sequence[Row], batches: Sequence[Row]) -> dict[str, Any]:
    """Requests to partners and what partners sent in, for one agreement (or all).

    Requests count by outcome; refusals by the door's reason, the firewall separately; the
    response time runs from the request to the partner's answer (data, not held or refusal).
    Inbound counts records accepted, refused by the door and quarantined as malformed.
    """
    refused = [r for r in requests if r["state"] == "refused"]
    by_reason = count_by(refused, "decision_kind")
    answered = [r for r in requests if r["state"] == "answered"]
    responses = [
        (r["created_at"], r["answered_at"]) for r in requests if r["state"] not in ("refused",)
    ]
    inbound_refusals: dict[str, int] = {}
    for b in batches:
        for kind, n in (b.get("refusals") or {}).items():
            inbound_refusals[kind] = inbound_refusals.get(kind, 0) + int(n)
    return {
        "requests": {
            "total": len(requests),
            "permitted": len(requests) - len(refused),
            "answered": len(answered),
            "not_held": sum(1 for r in requests if r["state"] == "not_held"),
            "declined": sum(1 for r in requests if r["state"] == "declined"),
            "answer_refused": sum(1 for r in requests if r["state"] == "answer_refused"),
            "open": sum(1 for r in requests if r["state"] == "open"),
            "refused": len(refused),
            "refused_by_reason": by_reason,
            "refused_by_firewall": by_reason.get("firewall", 0),
            "response_time": duration_stats(responses),
        },
        "inbound": {
            "submissions": len(batches),
            "files": sum(1 for b in batches if b["source"] == "file"),
            "rows": sum(int(b["rows"]) for b in batches),
            "accepted": sum(int(b["accepted"]) for b in batches),
            "refused": sum(int(b["refused"]) for b in batches),
            "refused_by_firewall": inbound_refusals.get("firewall", 0),
            "refused_by_reason": inbound_refusals,
            "quarantined": sum(int(b["quarantined"]) for b in batches),
        },
    }


def refusals_summary(refusals: Sequence[Row]) -> dict[str, Any]:
    """Requests refused by kind (firewall, pause, limit, ...); rows need ``kind``."""
    kinds = count_by(refusals, "kind")
    return {"total": len(refusals), "by_kind": kinds}


def yearly_volumes(rows: Iterable[Row]) -> list[dict[str, int]]:
    """``[{year, disclosures}]`` ascending; the transparency register publishes these."""
    counter = Counter(r["at"].year for r in rows)
    return [{"year": y, "disclosures": n} for y, n in sorted(counter.items())]


def pause_effect(
    rows: Iterable[Row], paused_at: datetime | None, days: int = 180
) -> dict[str, Any]:
    """Disclosures in the ``days`` before and after a pause began (its effect on volume)."""
    if paused_at is None:
        return {"paused_at": None, "before": None, "after": None, "change": None}
    window = days * 86400
    before = after = 0
    for r in rows:
        delta = (r["at"] - paused_at).total_seconds()
        if -window <= delta < 0:
            before += 1
        elif 0 <= delta < window:
            after += 1
    return {
        "paused_at": paused_at.isoformat(),
        "window_days": days,
        "before": before,
        "after": after,
        "change": rate(after - before, before),
    }


def pause_cut(disclosed: int, blocked_by_pause: int) -> dict[str, Any]:
    """How much of the asked-for volume pauses blocked: blocked / (disclosed + blocked)."""
    return {
        "blocked_by_pause": blocked_by_pause,
        "share_blocked": rate(blocked_by_pause, disclosed + blocked_by_pause),
    }


def flatten(report: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to ``a.b.c`` keys (for CSV and table output); lists become counts."""
    out: dict[str, Any] = {}
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = len(value)
        else:
            out[name] = value
    return out


# -- folding counts the database grouped ---------------------------------------------------
# ``sources`` counts in SQL and hands over groups (a row per kind, purpose and day; a count
# per outcome...); these fold the groups into the same figures the row-wise functions above
# give, so each is tested against them on hand-counted tables.

#: (kind, purpose, UTC day ``YYYY-MM-DD``, count)
DayCount = tuple[str, str, str, int]


def period_of_day(day: str, period: str) -> str:
    """``period_of`` for a ``YYYY-MM-DD`` day label."""
    if period == "day":
        return day
    if period == "month":
        return day[:7]
    if period == "quarter":
        return f"{day[:4]}-Q{(int(day[5:7]) - 1) // 3 + 1}"
    if period == "year":
        return day[:4]
    raise ValueError(f"period must be one of {', '.join(PERIODS)}")


def disclosure_figures(days: Iterable[DayCount], period: str = "month") -> dict[str, Any]:
    """Total, by kind, by purpose and period, and yearly, from per-day counts."""
    by_kind: Counter[str] = Counter()
    by_pp: Counter[tuple[str, str]] = Counter()
    yearly: Counter[int] = Counter()
    for kind, purpose, day, n in days:
        by_kind[str(kind) if kind is not None else "none"] += n
        by_pp[(period_of_day(day, period), str(purpose or "none"))] += n
        yearly[int(day[:4])] += n
    return {
        "total": sum(by_kind.values()),
        "by_kind": dict(sorted(by_kind.items())),
        "by_purpose_and_period": [
            {"period": p, "purpose": purpose, "count": n}
            for (p, purpose), n in sorted(by_pp.items())
        ],
        "yearly": [{"year": y, "disclosures": n} for y, n in sorted(yearly.items())],
    }


def volume_from_days(days: Iterable[DayCount], limit_per_day: int | None) -> dict[str, Any]:
    """``volume_against_limit`` from per-day counts."""
    per_day: Counter[str] = Counter()
    for _kind, _purpose, day, n in days:
        per_day[day] += n
    busiest = max(per_day.values()) if per_day else 0
    over = sum(1 for n in per_day.values() if limit_per_day is not None and n > limit_per_day)
    return {
        "limit_per_day": limit_per_day,
        "busiest_day": busiest,
        "days_with_disclosures": len(per_day),
        "days_over_limit": over,
        "peak_use": rate(busiest, limit_per_day) if limit_per_day else None,
    }


def pause_window(
    paused_at: datetime | None, before: int, after: int, days: int = 180
) -> dict[str, Any]:
    """``pause_effect`` from the two counts either side of the pause."""
    if paused_at is None:
        return {"paused_at": None, "before": None, "after": None, "change": None}
    return {
        "paused_at": paused_at.isoformat(),
        "window_days": days,
        "before": before,
        "after": after,
        "change": rate(after - before, before),
    }


@dataclass(frozen=True)
class AroundMoment:
    """The ``days`` before a moment and the ``days`` from it, cut at UTC midnights.

    The window's whole UTC days are counted from per-day counts (``whole_days``); only the
    three days it cuts — where it starts, the moment's own day, where it ends — are counted
    from the rows' times (``edges``). Together they give exactly ``pause_effect``'s counts,
    without reading every disclosure in the window.
    """

    moment: datetime
    days: int = 180

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("the window is at least a day either side")
        at = self.moment
        # Stored times are UTC; a naive one is taken as UTC, as the stores give it.
        object.__setattr__(self, "moment", at.replace(tzinfo=UTC) if at.tzinfo is None else at)

    @property
    def start(self) -> datetime:
        return self.moment - timedelta(days=self.days)

    @property
    def end(self) -> datetime:
        return self.moment + timedelta(days=self.days)

    def edges(self) -> list[tuple[str, datetime, datetime]]:
        """``(side, from, to)``: the parts of the cut days inside the window (``from`` ≤ at
        < ``to``), ``side`` ``before`` or ``after`` the moment."""
        return [
            ("before", self.start, _midnight_after(self.start)),
            ("before", _midnight_of(self.moment), self.moment),
            ("after", self.moment, _midnight_after(self.moment)),
            ("after", _midnight_of(self.end), self.end),
        ]

    def whole_days(self, days: Iterable[DayCount]) -> tuple[int, int]:
        """Counts on the days strictly between the cut ones: (before, after)."""
        first, middle, last = (_utc_day(t) for t in (self.start, self.moment, self.end))
        before = after = 0
        for _kind, _purpose, day, n in days:
            if first < day < middle:
                before += n
            elif middle < day < last:
                after += n
        return before, after


def _utc_day(at: datetime) -> str:
    return at.astimezone(UTC).date().isoformat()


def _midnight_of(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def _midnight_after(at: datetime) -> datetime:
    return _midnight_of(at) + timedelta(days=1)


def checks_from_counts(by_outcome: Mapping[str, int], contested: int) -> dict[str, Any]:
    """``checks_summary`` from counts by outcome and the number contested."""
    total = sum(by_outcome.values())
    return {
        "total": total,
        "by_outcome": dict(sorted(by_outcome.items())),
        "referral_rate": rate(by_outcome.get("referred", 0), total),
        "contested": contested,
        "contest_rate": rate(contested, total),
    }


def match_figures(
    funnel: Mapping[str, int],
    actions: int,
    overturned: int,
    kept_out: int = 0,
    kept_out_by_policy: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``match_summary`` from the run funnel's counts, the adverse actions' and the people
    the runs' gates kept out."""
    return {
        "runs": int(funnel.get("runs", 0)),
        "candidates": int(funnel.get("candidates", 0)),
        "reviewed": int(funnel.get("reviewed", 0)),
        "confirmed": int(funnel.get("confirmed", 0)),
        "adverse_actions": actions,
        "overturned": overturned,
        "error_rate": rate(overturned, actions),
        **kept_out_figures(kept_out, kept_out_by_policy or {}),
    }


def duration_figures(stats: Mapping[str, Any] | None) -> dict[str, Any]:
    """``duration_stats`` from done/open counts and median, mean and maximum hours."""
    stats = stats or {}

    def hours(key: str) -> float | None:
        value = stats.get(key)
        return None if value is None else round(float(value), 2)

    return {
        "done": int(stats.get("done", 0)),
        "open": int(stats.get("open", 0)),
        "median_hours": hours("median_hours"),
        "mean_hours": hours("mean_hours"),
        "max_hours": hours("max_hours"),
    }


def corrections_figures(counts: Mapping[str, Any] | None) -> dict[str, Any]:
    """``corrections_summary`` from counts of corrections and notices and the time to rectify."""
    counts = counts or {}
    return {
        "corrections": int(counts.get("corrections", 0)),
        "notices": int(counts.get("notices", 0)),
        "acknowledged": int(counts.get("acknowledged", 0)),
        "overdue": int(counts.get("overdue", 0)),
        "escalated": int(counts.get("escalated", 0)),
        "time_to_rectify": duration_figures(counts.get("time_to_rectify")),
    }


def exchange_figures(
    states: Iterable[tuple[str, str, int]],
    response: Mapping[str, Any] | None,
    inbound: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """``exchange_summary`` from requests counted by (state, decision kind), the response
    time's figures and the inbound submissions' sums."""
    by_state: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    for state, kind, n in states:
        by_state[state] += n
        if state == "refused":
            by_reason[str(kind) if kind is not None else "none"] += n
    total = sum(by_state.values())
    inbound = inbound or {}
    refusals = dict(inbound.get("refused_by_reason") or {})
    return {
        "requests": {
            "total": total,
            "permitted": total - by_state["refused"],
            "answered": by_state["answered"],
            "not_held": by_state["not_held"],
            "declined": by_state["declined"],
            "answer_refused": by_state["answer_refused"],
            "open": by_state["open"],
            "refused": by_state["refused"],
            "refused_by_reason": dict(sorted(by_reason.items())),
            "refused_by_firewall": by_reason["firewall"],
            "response_time": duration_figures(response),
        },
        "inbound": {
            "submissions": int(inbound.get("submissions", 0)),
            "files": int(inbound.get("files", 0)),
            "rows": int(inbound.get("rows", 0)),
            "accepted": int(inbound.get("accepted", 0)),
            "refused": int(inbound.get("refused", 0)),
            "refused_by_firewall": refusals.get("firewall", 0),
            "refused_by_reason": refusals,
            "quarantined": int(inbound.get("quarantined", 0)),
        },
    }


def add_counts(*groups: Mapping[str, int]) -> dict[str, int]:
    """Counts keyed alike, summed (the overall figure from every agreement's)."""
    out: Counter[str] = Counter()
    for g in groups:
        out.update(g)
    return dict(out)

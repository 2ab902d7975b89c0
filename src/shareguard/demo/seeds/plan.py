"""The seed-scale year: its calendar and its numbers, in one place (pure; no I/O).

The orders of magnitude are the public record's (see DESIGN.md §1 and issue 20): a refusal
pool of about 126,000, about 100,000 records matched to the driving-licence agency in a
year with a few thousand licences revoked, about 120,000 sent to the tax authority for a
few hundred actions, NHS trusts asking about 50 times a day, employers, landlords and banks
checking share codes hundreds of thousands of times, and proactive sharing about people over
30 halted from mid-year. ``Plan.small()`` is the same year at a size CI can afford.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta


def first_of_month(d: date, back: int = 0) -> date:
    """The first day of ``d``'s month, ``back`` months earlier."""
    month = d.year * 12 + d.month - 1 - back
    return date(month // 12, month % 12 + 1, 1)


@dataclass(frozen=True)
class Plan:
    """What the seed-scale demo builds. Every figure is a target the build draws around."""

    seed: int = 20261123
    #: The last day of the year replayed (the build's "today"); the year is the 12 calendar
    #: months before this day's month.
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    months: int = 12
    #: The month (0-based) the over-30 pause on proactive DVLA sharing starts.
    pause_month: int = 6
    #: Negative decisions in the refusal pool over the year, most of them decided before it.
    pool: int = 126_000
    stock: int = 110_000
    #: Share of the pool's decisions that were wrong (corrected during the year).
    wrong_over_30: float = 0.14
    wrong_under_30: float = 0.06
    #: Share of the pool aged over 30 (the pause keeps them out of DVLA sharing).
    over_30: float = 0.5
    #: Appeals lodged or pending, implausible records and current leave: the gate refuses.
    appeal_open: float = 0.02
    implausible: float = 0.003
    leave_conflict: float = 0.005
    #: People with leave who are checked by share code or by the NHS.
    population: int = 60_000
    #: Rows in the year's licence files (one file a month) and the pool's licence holders.
    licence_rows: int = 1_000_000
    licence_holders: float = 0.9
    #: Extra licence events a holder has in the year: Binomial(n, p), on top of one.
    extra_events: tuple[int, float] = (3, 0.2)
    #: Matched disclosures the agency acts on (a reviewed match, then a revocation).
    dvla_action_rate: float = 0.042
    #: The tax authority's share of the pool with a tax-credit claim in the year, and actions.
    hmrc_claims: float = 0.97
    hmrc_actions: int = 620
    #: Share-code checks over the year, by (agreement reference, share).
    share_code_checks: int = 250_000
    share_code_split: tuple[tuple[str, float], ...] = (
        ("HO-EMP-001", 0.6),
        ("HO-LL-001", 0.2),
        ("HO-BANK-001", 0.2),
    )
    no_match_rate: float = 0.005
    nhs_checks_per_day: int = 50
    #: Inbound: NHS debtor reports a day, HMRC employer-file rows a month, DWP requests a week.
    nhs_debts_per_day: int = 4
    hmrc_file_rows: int = 2_000
    dwp_requests_per_week: int = 10
    #: Contests of checks that did not confirm.
    contest_rate: float = 0.05
    #: Days a recipient takes to acknowledge a notice (median), and the share left overdue.
    acknowledge_days: int = 9
    overdue: float = 0.06
    #: Synthetic staff (recorded as such: "Synthetic caseworker 01 (seed-scale demo)").
    caseworkers: int = 6
    reviewers: int = 4

    @classmethod
    def small(cls, **overrides: object) -> Plan:
        """The same year at a size a test can build in seconds."""
        small = cls(
            pool=1_200,
            stock=1_000,
            population=600,
            licence_rows=6_000,
            share_code_checks=1_500,
            nhs_checks_per_day=1,
            nhs_debts_per_day=1,
            hmrc_file_rows=40,
            dwp_requests_per_week=1,
            hmrc_actions=12,
            caseworkers=2,
            reviewers=2,
        )
        return replace(small, **overrides)  # type: ignore[arg-type]

    def scaled(self, fraction: float) -> Plan:
        """The same year with every volume times ``fraction`` (rates and the calendar kept)."""
        if fraction >= 1:
            return self

        def f(n: int, least: int = 1) -> int:
            return max(least, round(n * fraction))

        return replace(
            self,
            pool=f(self.pool, 100),
            stock=f(self.stock, 80),
            population=f(self.population, 100),
            licence_rows=f(self.licence_rows, 1_000),
            share_code_checks=f(self.share_code_checks, 120),
            hmrc_actions=f(self.hmrc_actions),
            nhs_checks_per_day=f(self.nhs_checks_per_day),
            nhs_debts_per_day=f(self.nhs_debts_per_day),
            hmrc_file_rows=f(self.hmrc_file_rows, 20),
            dwp_requests_per_week=f(self.dwp_requests_per_week),
        )

    # the calendar ------------------------------------------------------------------------
    @property
    def start(self) -> date:
        """The first day of the year replayed."""
        return first_of_month(self.today, self.months)

    def month_start(self, m: int) -> date:
        return first_of_month(self.today, self.months - m)

    def month_end(self, m: int) -> date:
        """The first day after month ``m``."""
        return first_of_month(self.today, self.months - m - 1)

    def days(self, m: int) -> list[date]:
        start, end = self.month_start(m), self.month_end(m)
        return [start + timedelta(days=i) for i in range((end - start).days)]

    def label(self, m: int) -> str:
        return f"{self.month_start(m):%Y-%m}"

    @property
    def pause_starts(self) -> datetime:
        return at(self.month_start(self.pause_month), 9)

    @property
    def monthly_intake(self) -> int:
        return (self.pool - self.stock) // self.months


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A moment of the story (UTC)."""
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)

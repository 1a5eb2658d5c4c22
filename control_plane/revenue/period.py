"""Which days a headline figure covers (docs/revenue.md "Month-to-date and comparisons"): a closed
calendar month, or the running month from its 1st through today, compared with the same days of the month before
and of the same month a year before. Pure date logic: "today" is always passed in."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from control_plane.revenue import months

_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def today_of(ctx: Any) -> date:
    """Today in UTC, by the context's clock."""
    return ctx.clock().date()


def days_in(month: int) -> int:
    return calendar.monthrange(month // 12, month % 12 + 1)[1]


def last_day(month: int) -> date:
    return months.first_day(month).replace(day=days_in(month))


@dataclass(frozen=True)
class Period:
    """Days 1 … through.day of `month`. `to_date` marks a month-to-date window (the running month,
    or the same days of an earlier month it is compared with); otherwise the whole month."""

    month: int
    through: date
    to_date: bool

    @property
    def first(self) -> date:
        return months.first_day(self.month)

    @property
    def opening(self) -> date:
        """The cut-off before the period: the last day of the month before (net new = MRR at
        `through` − MRR at `opening`)."""
        return self.first - timedelta(days=1)

    @property
    def month_label(self) -> str:
        return months.label(self.month)

    def label(self, *, year: bool = False) -> str:
        """'Dec 1–5' (', 2025' with year) for a window to date, 'Nov 2026' for a whole month."""
        name = _ABBR[self.month % 12]
        if not self.to_date:
            return f"{name} {self.month // 12}"
        days = "1" if self.through.day == 1 else f"1–{self.through.day}"
        return f"{name} {days}" + (f", {self.month // 12}" if year else "")

    def shifted(self, back: int) -> Period:
        """The same days `back` months earlier (clamped to that month's length: Mar 1–31 is
        compared with Feb 1–28); a whole month stays a whole month."""
        month = self.month - back
        if not self.to_date:
            return Period(month, last_day(month), False)
        return Period(month, months.first_day(month).replace(day=min(self.through.day, days_in(month))), True)


def period_for(month: int, today: date) -> Period:
    """The running month (today's) to date; any other month whole (a later month holds what the
    ledger already dates in it)."""
    if month == months.index(today):
        return Period(month, today, True)
    return Period(month, last_day(month), False)


def running(today: date) -> Period:
    return period_for(months.index(today), today)

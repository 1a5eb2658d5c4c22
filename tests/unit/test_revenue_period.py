"""Which days a revenue headline covers (docs/revenue.md "Month-to-date and comparisons"): the
running month from the 1st through today beside the same days a month and a year before."""

from __future__ import annotations

from datetime import date

import pytest

from control_plane.revenue import months
from control_plane.revenue.period import period_for, running


@pytest.mark.parametrize(("today", "now", "mom", "yoy"), [
    (date(2026, 12, 5), "Dec 1–5", "Nov 1–5", "Dec 1–5, 2025"),
    (date(2026, 12, 1), "Dec 1", "Nov 1", "Dec 1, 2025"),
    (date(2026, 3, 31), "Mar 1–31", "Feb 1–28", "Mar 1–31, 2025"),   # clamped to February's length
    (date(2028, 2, 29), "Feb 1–29", "Jan 1–29", "Feb 1–28, 2027"),   # leap day: a year before has 28
    (date(2026, 1, 31), "Jan 1–31", "Dec 1–31", "Jan 1–31, 2025"),   # across the year boundary
])
def test_running_month_and_the_same_days_before(today, now, mom, yoy):
    p = running(today)
    assert p.to_date and p.through == today and p.label() == now
    assert p.shifted(1).label() == mom and p.shifted(12).label(year=True) == yoy
    assert p.opening == date.fromordinal(today.replace(day=1).toordinal() - 1)  # net new counts from there


def test_a_closed_month_is_compared_whole():
    p = period_for(months.parse("2026-11"), date(2026, 12, 5))
    assert not p.to_date and p.through == date(2026, 11, 30) and p.label() == "Nov 2026"
    assert p.shifted(1).through == date(2026, 10, 31) and p.shifted(12).label() == "Nov 2025"

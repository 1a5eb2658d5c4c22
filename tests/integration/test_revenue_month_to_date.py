"""Headline figures for a fixed today: month-to-date against the same days a month and a year
before, a closed month against whole months, and the plan filter (control_plane.revenue.summary)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from control_plane.revenue import ledger, summary
from control_plane.revenue.ledger import SubscriptionState


def _rows(ctx, rows):
    with ctx.session_factory() as session:
        ledger.upsert_many(session, [SubscriptionState(t, d, plan, "month", Decimal(price), 1, Decimal(0), status)
                                     for t, d, plan, price, status in rows], source="test")
        session.commit()


def test_month_to_date_on_the_31st_compares_with_all_of_february(ctx, founder):
    _rows(ctx, [
        ("a", date(2025, 1, 10), "team", 100, "active"),
        ("b", date(2026, 2, 10), "starter", 40, "active"),
        ("b", date(2026, 3, 30), "starter", 40, "canceled"),
        ("c", date(2026, 3, 31), "team", 25, "active"),
        ("d", date(2026, 4, 1), "team", 999, "active"),  # tomorrow: not counted today
    ])
    head = summary.headline(ctx, founder, today=date(2026, 3, 31))
    assert (head.period.label(), head.month_ago.label(), head.year_ago.label(year=True)) == (
        "Mar 1–31", "Feb 1–28", "Mar 1–31, 2025")
    assert head.mrr.now == Decimal("125.00") and head.mrr.month_ago == Decimal("140.00")
    assert head.net_new.now == Decimal("-15.00") and head.net_new.month_ago == Decimal("40.00")
    assert head.customers.year_ago == 1 and head.customers.yoy == 1
    assert head.mrr.yoy_pct == 25.0 and head.net_new.year_ago == Decimal("0.00")

    starter = summary.headline(ctx, founder, today=date(2026, 3, 31), plans=["starter"])
    assert (starter.mrr.now, starter.mrr.month_ago, starter.customers.now) == (Decimal("0.00"), Decimal("40.00"), 0)
    assert starter.net_new.now == Decimal("-40.00") and starter.plans == ("starter",)

    closed = summary.headline(ctx, founder, today=date(2026, 3, 31), month="2026-02")
    assert not closed.to_date and closed.month_ago.label() == "Jan 2026"
    assert (closed.mrr.now, closed.mrr.month_ago, closed.net_new.now) == (
        Decimal("140.00"), Decimal("100.00"), Decimal("40.00"))


def test_no_history_a_year_before_has_no_yoy(ctx, founder):
    _rows(ctx, [("a", date(2026, 11, 2), "team", 100, "active")])
    head = summary.headline(ctx, founder, today=date(2026, 12, 5))
    assert head.mrr.month_ago == Decimal("100.00") and head.mrr.mom == Decimal("0.00")
    assert head.mrr.year_ago is None and head.mrr.yoy is None and head.mrr.yoy_pct is None

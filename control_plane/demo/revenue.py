"""Demo subscription history (revenue area), seeded through that area's services.

Each demo tenant gets a plausible history ending in the plan and status it has now: a start some
time in the window (often after a trial), seat growth and cuts, upgrades towards its current plan,
discounts, annual billing, a late payment now and then, a few pauses and returns. About one in six
extra customers churned and were never provisioned here (their rows name slugs with no schema).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from control_plane.auth.permissions import system_actor
from control_plane.context import AppContext
from control_plane.db.models import Plan
from control_plane.revenue import importer
from control_plane.revenue import months as month_index
from control_plane.revenue.ledger import SubscriptionState
from control_plane.services.tenants import TenantView

SOURCE = "demo"


def seed(ctx: AppContext, tenants: list[TenantView], months: int, rng: random.Random, *,
         today: date | None = None, now: datetime | None = None) -> None:
    """Idempotent enough for demo use: called once, after the tenants exist (replaces their history).
    The history ends on `today` (or `now`'s date; default: the clock)."""
    today = today or (now or datetime.now(UTC)).date()
    with ctx.session_factory() as session:
        plans = {p.code: p for p in session.scalars(select(Plan).order_by(Plan.sort_order, Plan.code))}
    now = month_index.index(today)
    win = _Window(plans, [c for c in plans if plans[c].list_price > 0] or list(plans),
                  now - max(months, 1) + 1, now, today, rng)
    states: list[SubscriptionState] = []
    for tenant in tenants:
        states += _history(tenant.slug, tenant.plan, tenant.status == "suspended", win)
    for n in range(max(1, len(tenants) // 6) if tenants else 0):
        states += _former(f"demo_former_{n:04d}", win)
    if states:
        importer.replace_histories(ctx, system_actor("demo-seed"), states, SOURCE)


class _Writer:
    """Collects one tenant's states, one per day (a later write the same day replaces the earlier)."""

    def __init__(self, slug: str, plans: dict[str, Plan], rng: random.Random) -> None:
        self.slug, self.plans, self.rng = slug, plans, rng
        self.by_day: dict[date, SubscriptionState] = {}
        self.plan, self.seats, self.discount, self.annual, self.status = "", 1, Decimal(0), False, "active"

    def write(self, month: int, last_day: bool = False) -> None:
        first = month_index.first_day(month)
        self.write_on(_last_day(first) if last_day else first.replace(day=self.rng.randint(1, 28)))

    def write_on(self, day: date) -> None:
        plan = self.plans[self.plan]
        price = plan.list_price * 10 if self.annual and plan.interval == "month" else plan.list_price
        interval = "year" if self.annual or plan.interval == "year" else "month"
        self.by_day[day] = SubscriptionState(self.slug, day, self.plan, interval, price, self.seats, self.discount,
                                             self.status)


@dataclass(frozen=True)
class _Window:
    plans: dict[str, Plan]
    ladder: list[str]  # paid plans, cheapest first: upgrades climb it
    first: int         # first month of the window
    now: int           # this month
    today: date
    rng: random.Random


def _history(slug: str, final_plan: str, suspended: bool, win: _Window) -> list[SubscriptionState]:
    rng, ladder = win.rng, win.ladder
    start = win.first + int((win.now - win.first) * rng.random() ** 1.4)
    target = ladder.index(final_plan) if final_plan in ladder else None
    w = _Writer(slug, win.plans, rng)
    w.plan = ladder[max(0, target - rng.choice([0, 0, 1, 1, 2]))] if target is not None else final_plan
    w.seats = rng.choice([1, 1, 2, 3, 5, 8, 12, 20])
    w.discount = rng.choice([Decimal(0)] * 6 + [Decimal(10), Decimal(15), Decimal(20), Decimal("12.5")])
    w.annual = rng.random() < 0.2
    if rng.random() < 0.4 and start < win.now:
        w.status = "trial"
        w.write(start)
        start += 1
    w.status = "active"
    w.write(start)
    upgrade_at = rng.randint(start, win.now)
    m = start + 1
    while m <= win.now:
        changed = False
        if m >= upgrade_at and target is not None and w.plan in ladder and ladder.index(w.plan) < target:
            w.plan, changed = ladder[ladder.index(w.plan) + 1], True
        roll = rng.random()
        if w.status == "past_due":
            w.status, changed = "active", True
        elif roll < 0.12:
            w.seats, changed = w.seats + rng.randint(1, 4), True
        elif roll < 0.17 and w.seats > 1:
            w.seats, changed = max(1, w.seats - rng.randint(1, 3)), True
        elif roll < 0.20:
            w.status, changed = "past_due", True
        elif roll < 0.23 and m < win.now - 3:
            # Gone for a month or three (churn or pause), then back: reactivation.
            w.status = rng.choice(["canceled", "paused"])
            w.write(m)
            m += rng.randint(1, 3)
            w.status, changed = "active", True
        if changed:
            w.write(m, last_day=rng.random() < 0.05)
        m += 1
    for day in [d for d in w.by_day if d > win.today]:  # later this month: not happened yet
        del w.by_day[day]
    last = w.by_day[max(w.by_day)] if w.by_day else None
    wanted = "paused" if suspended else "active"
    if last is None or last.plan != final_plan or last.status != wanted:
        # Dated today, so it is the state in force now, whatever came before.
        w.plan, w.status = final_plan, wanted
        w.write_on(win.today)
    return [w.by_day[d] for d in sorted(w.by_day)]


def _former(slug: str, win: _Window) -> list[SubscriptionState]:
    rng = win.rng
    start = win.first + rng.randint(0, max(0, win.now - win.first - 3))
    w = _Writer(slug, win.plans, rng)
    w.plan, w.seats = rng.choice(win.ladder[:3] or win.ladder), rng.randint(1, 6)
    w.write(start)
    w.status = "canceled"
    w.write(min(win.now, start + rng.randint(1, max(1, win.now - start))))
    return [w.by_day[d] for d in sorted(w.by_day) if d <= win.today]


def _last_day(first: date) -> date:
    following = month_index.first_day(month_index.index(first) + 1)
    return date.fromordinal(following.toordinal() - 1)

"""Demo subscription history (revenue area), seeded through that area's services.

Each demo tenant gets a plausible history ending in the plan and status it has now: a start some
time in the window (often after a trial; signups accelerate from the company's first customer),
a little seat growth and a few cuts, some upgrades towards its current plan, discounts, annual
billing, a late payment now and then, a few pauses and returns. One extra customer per
FORMER_SHARE tenants churned for good and was never provisioned here (their rows name slugs with
no schema). At 2,000 tenants over 18 months this gives about $800K MRR, NRR 100-130 % and
monthly logo churn of 1-3 % (tests/unit/test_demo_revenue_shape.py).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select

from control_plane.auth.permissions import system_actor
from control_plane.context import AppContext
from control_plane.core.tenant_view import TenantView
from control_plane.db.models import Plan
from control_plane.revenue import importer
from control_plane.revenue import months as month_index
from control_plane.revenue.ledger import SubscriptionState

SOURCE = "demo"


class TenantLike(Protocol):
    slug: str
    plan: str
    status: str


def seed(ctx: AppContext, tenants: list[TenantView], months: int, rng: random.Random, *,
         today: date | None = None, now: datetime | None = None) -> None:
    """Idempotent enough for demo use: called once, after the tenants exist (replaces their history).
    The history ends on `today` (or `now`'s date; default: the clock)."""
    today = today or (now or datetime.now(UTC)).date()
    with ctx.session_factory() as session:
        plans = {p.code: p for p in session.scalars(select(Plan).order_by(Plan.sort_order, Plan.code))}
    states = generate(tenants, plans, months, rng, today)
    if states:
        importer.replace_histories(ctx, system_actor("demo-seed"), states, SOURCE)


def generate(tenants: Sequence[TenantLike], plans: dict[str, Any], months: int, rng: random.Random,
             today: date) -> list[SubscriptionState]:
    """The histories of `tenants` (their current plan and status as the end state) plus former
    customers, over `months` months ending `today`. `plans` maps code to an object with
    `list_price` and `interval`, cheapest paid plan first by its order."""
    now = month_index.index(today)
    win = _Window(plans, [c for c in plans if plans[c].list_price > 0] or list(plans),
                  now - max(months, 1) + 1, now, today, rng)
    states: list[SubscriptionState] = []
    for i, tenant in enumerate(tenants):
        states += _history(tenant.slug, tenant.plan, tenant.status == "suspended", win, first=i == 0)
    for n in range(max(1, len(tenants) // FORMER_SHARE) if tenants else 0):
        states += _former(f"demo_former_{n:04d}", win)
    return states


class _Writer:
    """Collects one tenant's states, one per day (a later write the same day replaces the earlier)."""

    def __init__(self, slug: str, plans: dict[str, Any], rng: random.Random) -> None:
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
    plans: dict[str, Any]
    ladder: list[str]  # paid plans, cheapest first: upgrades climb it
    first: int         # first month of the window
    now: int           # this month
    today: date
    rng: random.Random


# The shape of a seed-stage B2B company (docs/operations.md "Demo data"): signups accelerate (start month drawn
# with this exponent: customers grow roughly like t^1.8 from the first one), a few seats per
# customer, modest expansion, and monthly logo churn of 1-3 %, so NRR lands at 100-130 %.
GROWTH_EXPONENT = 0.55
SEATS = (1, 1, 2, 2, 3, 4, 6, 8)
SEAT_GROWTH, SEAT_CUT, LATE_PAYMENT, AWAY = 0.05, 0.012, 0.02, 0.004
FORMER_TENURE_MONTHS = 10
FORMER_SHARE = 16  # one former customer per this many tenants
UPGRADE_SHARE = 0.35  # customers that climb towards their current plan during the window
TRIAL_DAYS = (14, 30)
UPGRADE_WITHIN_MONTHS = 1
FINAL_CHANGE_DAYS = 45  # the catalog's plan and status took effect within this many days before today


def _start_month(win: _Window) -> int:
    return win.first + int((win.now - win.first + 1) * win.rng.random() ** GROWTH_EXPONENT * 0.999)


def _start_day(win: _Window) -> date:
    """A signup day in the window, on or before today: drawn over days (not months), so the
    running month holds only the signups of its days so far and no day gets a crowd."""
    opening = month_index.first_day(win.first)
    days = (win.today - opening).days + 1
    return opening + timedelta(days=int(days * win.rng.random() ** GROWTH_EXPONENT * 0.999))


def _history(slug: str, final_plan: str, suspended: bool, win: _Window, *,
             first: bool = False) -> list[SubscriptionState]:
    rng, ladder = win.rng, win.ladder
    opening = month_index.first_day(win.first)
    start_day = opening + timedelta(days=rng.randint(0, min(27, (win.today - opening).days))) if first \
        else _start_day(win)
    target = ladder.index(final_plan) if final_plan in ladder else None
    w = _Writer(slug, win.plans, rng)
    climbs = target is not None and rng.random() < UPGRADE_SHARE
    w.plan = ladder[max(0, target - 1)] if climbs and target is not None else final_plan
    w.seats = rng.choice(SEATS)
    w.discount = rng.choice([Decimal(0)] * 6 + [Decimal(10), Decimal(15), Decimal(20), Decimal("12.5")])
    w.annual = rng.random() < 0.2
    if not first and rng.random() < 0.4 and (win.today - start_day).days >= TRIAL_DAYS[1]:
        w.status = "trial"  # a trial of two to four weeks, then paying (only when both have happened)
        w.write_on(start_day)
        start_day += timedelta(days=rng.randint(*TRIAL_DAYS))
    w.status = "active"
    w.write_on(start_day)
    start = month_index.index(start_day)
    # Upgrades come early (land, then expand within a quarter): a climb a year into a large account
    # would swing the fleet's NRR by tens of points on its own.
    upgrade_at = start + rng.randint(1, UPGRADE_WITHIN_MONTHS)
    # A suspended tenant's subscription was paused in the last months (not all on one day).
    paused_at = rng.randint(max(start + 1, win.now - 6), win.now) if suspended and start < win.now else None
    m = start + 1
    while m <= win.now:
        changed = False
        if paused_at is not None and m >= paused_at:
            if w.status != "paused":
                w.status = "paused"
                w.write(m)
            m += 1
            continue
        if climbs and m >= upgrade_at and target is not None and w.plan in ladder and ladder.index(w.plan) < target:
            w.plan, changed = ladder[ladder.index(w.plan) + 1], True
        roll = rng.random()
        if w.status == "past_due":
            w.status, changed = "active", True
        elif roll < SEAT_GROWTH:
            w.seats, changed = w.seats + rng.randint(1, 2), True
        elif roll < SEAT_GROWTH + SEAT_CUT and w.seats > 1:
            w.seats, changed = w.seats - 1, True
        elif roll < SEAT_GROWTH + SEAT_CUT + LATE_PAYMENT:
            w.status, changed = "past_due", True
        elif roll < SEAT_GROWTH + SEAT_CUT + LATE_PAYMENT + AWAY and m < win.now - 3:
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
    last = w.by_day[max(w.by_day)]
    wanted = "paused" if suspended else "active"
    if last.plan != final_plan or last.status != wanted:
        # The state in force now (what the catalog says), dated some day of the last weeks after
        # the last change: spread out, never a crowd of changes "today".
        after = max(last.effective_date + timedelta(days=1), win.today - timedelta(days=FINAL_CHANGE_DAYS))
        # Dated before today (today's changes are the day's signups): with no day left after the
        # last change, that change brings the state in force now (a recent signup starts on its
        # final plan).
        day = last.effective_date if after >= win.today else \
            after + timedelta(days=rng.randint(0, (win.today - after).days - 1))
        w.plan, w.status = final_plan, wanted
        w.write_on(day)
    return [w.by_day[d] for d in sorted(w.by_day)]


def _former(slug: str, win: _Window) -> list[SubscriptionState]:
    """A customer who left for good (its tenant was archived and purged long ago)."""
    rng = win.rng
    # Signed up like everyone else and stayed a few months (exponential tenure): leaving then
    # follows the growth of the customer base, so the churn rate stays steady.
    for _ in range(100):
        start = _start_month(win)
        left = start + 1 + int(rng.expovariate(1 / FORMER_TENURE_MONTHS))
        if left <= win.now:
            break
    else:
        start, left = win.first, win.first + 1
    w = _Writer(slug, win.plans, rng)
    w.plan, w.seats = rng.choice(win.ladder[:3] or win.ladder), rng.choice(SEATS)
    w.write(start)
    w.status = "canceled"
    w.write(left)
    return [w.by_day[d] for d in sorted(w.by_day) if d <= win.today]


def _last_day(first: date) -> date:
    following = month_index.first_day(month_index.index(first) + 1)
    return date.fromordinal(following.toordinal() - 1)

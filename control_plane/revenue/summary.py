"""Headline revenue figures (Overview and the Revenue page's tiles): MRR, ARR, paying customers,
ARPA and net new MRR for one period, each beside the same days of the month before (MoM) and of
the same month a year before (YoY). The running month is month-to-date: MRR as of today, net new
from the 1st through today (docs/revenue.md "Month-to-date and comparisons")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.revenue import months
from control_plane.revenue.money import arpa_cents, cents_to_decimal
from control_plane.revenue.period import Period, period_for, today_of

# Each tenant's state in force at the end of each cut-off day (its last row dated on or before it).
_AS_OF = """
SELECT c.cut, s.plan, s.mrr_cents
  FROM pg_catalog.unnest(%s::date[]) AS c(cut)
 CROSS JOIN LATERAL (
       SELECT DISTINCT ON (tenant COLLATE "C") tenant, plan, mrr_cents
         FROM control_plane.subscription_changes
        WHERE effective_date <= c.cut
        ORDER BY tenant COLLATE "C", effective_date DESC) AS s
 WHERE s.mrr_cents > 0
"""
_FIRST = "SELECT pg_catalog.min(effective_date) FROM control_plane.subscription_changes"


@dataclass(frozen=True)
class Figure:
    """One headline figure now, the same days a month before and a year before (None: the ledger
    has no history then). Money as Decimal, counts as int."""

    now: Decimal | int
    month_ago: Decimal | int | None
    year_ago: Decimal | int | None

    @property
    def mom(self) -> Decimal | int | None:
        return None if self.month_ago is None else self.now - self.month_ago

    @property
    def yoy(self) -> Decimal | int | None:
        return None if self.year_ago is None else self.now - self.year_ago

    @property
    def mom_pct(self) -> float | None:
        return _pct(self.now, self.month_ago)

    @property
    def yoy_pct(self) -> float | None:
        return _pct(self.now, self.year_ago)


@dataclass(frozen=True)
class Headline:
    period: Period      # what `now` covers: the running month to date, or a whole month
    month_ago: Period   # the same days one month earlier
    year_ago: Period    # the same days twelve months earlier
    mrr: Figure         # at the end of the period's last day
    customers: Figure
    arpa: Figure
    net_new: Figure     # MRR at the period's end − MRR at the end of the month before
    plans: tuple[str, ...] = ()
    empty: bool = False  # no ledger rows at all

    @property
    def month(self) -> str:
        return self.period.month_label

    @property
    def arr(self) -> Decimal:
        return Decimal(self.mrr.now) * 12

    @property
    def to_date(self) -> bool:
        return self.period.to_date


def headline(ctx: AppContext, actor: Actor, *, today: date | None = None, month: str | None = None,
             plans: Sequence[str] = ()) -> Headline:
    """The figures for `month` ('YYYY-MM', default today's month: month-to-date), optionally only
    tenants on `plans` (a tenant counts while its state at a cut-off is on one of them). Needs
    revenue.read (Forbidden otherwise): check actor.can(...) before calling."""
    authorize(ctx, actor, Permission.REVENUE_READ, "revenue.read")
    today = today or today_of(ctx)
    period = period_for(months.parse(month) if month else months.index(today), today)
    mom, yoy = period.shifted(1), period.shifted(12)
    cuts = sorted({p.through for p in (period, mom, yoy)} | {p.opening for p in (period, mom, yoy)})
    raw = ctx.engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute(_FIRST)
            first = cur.fetchone()[0]
            cur.execute(_AS_OF, (cuts,))
            rows = cur.fetchall()
        raw.commit()
    finally:
        raw.close()
    wanted = set(plans)
    cents = dict.fromkeys(cuts, 0)
    paying = dict.fromkeys(cuts, 0)
    for cut, plan, mrr in rows:
        if not wanted or plan in wanted:
            cents[cut] += int(mrr)
            paying[cut] += 1

    def known(p: Period) -> bool:
        return first is not None and first <= p.through

    def at(p: Period, value):
        return value(p) if known(p) else None

    def figure(value) -> Figure:
        return Figure(value(period), at(mom, value), at(yoy, value))

    return Headline(
        period=period, month_ago=mom, year_ago=yoy,
        mrr=figure(lambda p: cents_to_decimal(cents[p.through])),
        customers=figure(lambda p: paying[p.through]),
        arpa=figure(lambda p: cents_to_decimal(arpa_cents(cents[p.through], paying[p.through]))),
        net_new=figure(lambda p: cents_to_decimal(cents[p.through] - cents[p.opening])),
        plans=tuple(sorted(wanted)), empty=first is None,
    )


def _pct(now: Decimal | int, then: Decimal | int | None) -> float | None:
    """Change in % of the earlier value's size; None when there is no earlier value or it is 0."""
    if then is None or then == 0:
        return None
    return round(float((Decimal(now) - Decimal(then)) / abs(Decimal(then)) * 100), 1)

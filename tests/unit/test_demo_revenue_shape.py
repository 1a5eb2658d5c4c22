"""The demo's revenue history looks like a seed-stage B2B company's (docs/operations.md "Demo data"): from the
first customer to about $800K MRR over 18 months at 2,000 tenants, NRR 100-130 %, monthly logo
churn 1-3 %. Computed with the real engine on the generated states, no database."""

from __future__ import annotations

import random
import statistics
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from control_plane.demo import revenue
from control_plane.demo.seed import PLAN_MIX, SUSPENDED_SHARE
from control_plane.revenue import months
from control_plane.revenue.engine import MrrGrid, snapshots_from_states

PLANS = {code: SimpleNamespace(code=code, list_price=Decimal(price), interval="month")
         for code, price in (("free", 0), ("starter", 29), ("team", 99), ("business", 299), ("enterprise", 999))}


def _monthly(count: int, today: date, seed: int = 7):
    rng = random.Random(seed)
    tenants = [SimpleNamespace(slug=f"t{i}", plan=rng.choices([p for p, _ in PLAN_MIX], [w for _, w in PLAN_MIX])[0],
                               status="suspended" if rng.random() < SUSPENDED_SHARE else "active")
               for i in range(count)]
    states = revenue.generate(tenants, PLANS, 18, random.Random(f"{seed}-revenue"), today)
    grid = MrrGrid.build(snapshots_from_states(states), last_month=months.index(today))
    frame = grid.monthly()
    return frame[frame["month"] >= months.label(months.index(today) - 17)].reset_index(drop=True)


# A month's last day, its 1st, its 5th, a 31st, a leap day and a Sunday (2026-06-07).
@pytest.mark.parametrize("today", [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 5), date(2026, 12, 31),
                                   date(2026, 2, 28), date(2028, 2, 29), date(2026, 6, 7)])
def test_two_thousand_tenants_grow_like_a_seed_company(today):
    frame = _monthly(2000, today)
    assert len(frame) == 18
    assert frame["customers"].iloc[0] <= 20  # it starts from the first few customers
    assert 600_000_00 <= frame["mrr"].iloc[-1] <= 1_000_000_00  # about $800K at the end
    assert (frame["mrr"].diff().iloc[1:] > 0).all()  # growing every month
    nrr = frame["nrr_pct"].dropna()
    assert 100 <= nrr.iloc[-1] <= 130  # docs/operations.md "Demo data" (early months: a tiny base)
    churn = frame["logo_churn_pct"].iloc[3:]
    assert 1 <= statistics.median(churn) <= 3


def test_the_first_tenant_is_the_first_customer():
    frame = _monthly(300, date(2026, 11, 30))
    assert frame["customers"].iloc[0] >= 1 and frame["new"].iloc[0] > 0

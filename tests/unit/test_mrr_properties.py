"""Property-based checks: the identities of the monthly table, and the engine against a
brute-force month-end evaluation written straight from the definitions."""

from __future__ import annotations

import calendar
import decimal
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from control_plane.revenue.ledger import SubscriptionState
from control_plane.revenue.money import STATUSES, state_mrr_cents
from tests.mrr_helpers import table

TODAY = date(2025, 12, 10)

prices = st.decimals(min_value=0, max_value=5000, places=2)
states = st.builds(
    SubscriptionState,
    tenant=st.sampled_from(["a", "b", "c", "d", "e"]),
    effective_date=st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)),
    plan=st.sampled_from(["starter", "team"]),
    interval=st.sampled_from(["month", "year"]),
    price=prices,
    seats=st.integers(min_value=0, max_value=30),
    discount_percent=st.decimals(min_value=0, max_value=100, places=2),
    status=st.sampled_from(STATUSES),
)
ledgers = st.lists(states, max_size=40, unique_by=lambda s: (s.tenant, s.effective_date))


def reference(ledger: list[SubscriptionState], month: tuple[int, int]) -> dict[str, int]:
    """Each tenant's MRR at the month-end: its last state effective on or before the last day."""
    end = date(month[0], month[1], calendar.monthrange(*month)[1])
    out = {}
    for tenant in {s.tenant for s in ledger}:
        mine = [s for s in ledger if s.tenant == tenant and s.effective_date <= end]
        if mine:
            s = max(mine, key=lambda x: x.effective_date)
            out[tenant] = state_mrr_cents(s.price, s.seats, s.discount_percent, s.interval, s.status)
    return out


@settings(max_examples=150, deadline=None)
@given(ledgers)
def test_identities_hold_every_month(ledger):
    rows = list(table(ledger, today=TODAY).values())
    previous = 0
    for row in rows:
        movements = row["new"] + row["expansion"] + row["contraction"] + row["churn"] + row["reactivation"]
        assert row["net_new"] == movements
        assert row["mrr"] == previous + row["net_new"]
        assert row["new"] >= 0 and row["expansion"] >= 0 and row["reactivation"] >= 0
        assert row["contraction"] <= 0 and row["churn"] <= 0
        previous = row["mrr"]


@settings(max_examples=150, deadline=None)
@given(ledgers)
def test_engine_matches_brute_force_month_ends(ledger):
    rows = table(ledger, start="2024-01", end="2025-12", today=TODAY)
    ever_paid: set[str] = set()
    before: dict[str, int] = {}
    for label, row in rows.items():
        now = reference(ledger, (int(label[:4]), int(label[5:])))
        expected = {"new": 0, "expansion": 0, "contraction": 0, "churn": 0, "reactivation": 0}
        for tenant in set(now) | set(before):
            prev, cur = before.get(tenant, 0), now.get(tenant, 0)
            if prev == 0 and cur > 0:
                expected["reactivation" if tenant in ever_paid else "new"] += cur
            elif 0 < prev < cur:
                expected["expansion"] += cur - prev
            elif 0 < cur < prev:
                expected["contraction"] += cur - prev
            elif prev > 0 and cur == 0:
                expected["churn"] -= prev
        assert {k: row[k] for k in expected} == expected, label
        assert row["mrr"] == sum(now.values())
        assert row["customers"] == sum(1 for v in now.values() if v > 0)
        ever_paid |= {t for t, v in now.items() if v > 0}
        before = now


@settings(max_examples=300, deadline=None)
@given(price=st.decimals(min_value=0, max_value=10**9, places=6), seats=st.integers(0, 10**6),
       discount=st.decimals(min_value=0, max_value=100, places=4), interval=st.sampled_from(["month", "year"]))
def test_state_mrr_is_the_definition_rounded_half_up(price, seats, discount, interval):
    with decimal.localcontext(prec=200):
        exact = price * seats * (1 - discount / 100) / (12 if interval == "year" else 1)
        expected = int((exact * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert state_mrr_cents(price, seats, discount, interval, "active") == expected
    assert state_mrr_cents(price, seats, discount, interval, "past_due") == expected
    for unpaid in ("trial", "paused", "canceled"):
        assert state_mrr_cents(price, seats, discount, interval, unpaid) == 0


@settings(max_examples=100, deadline=None)
@given(ledgers, st.sets(st.sampled_from(["starter", "team"]), min_size=1))
def test_identities_hold_under_a_plan_filter(ledger, plans):
    from control_plane.revenue.engine import MrrGrid, snapshots_from_states

    grid = MrrGrid.build(snapshots_from_states(ledger), last_month=2025 * 12 + 11)
    monthly = grid.only_plans(plans).monthly()
    previous = 0
    for row in monthly.to_dict("records"):
        assert row["net_new"] == sum(row[k] for k in ("new", "expansion", "contraction", "churn", "reactivation"))
        assert row["mrr"] == previous + row["net_new"]
        previous = row["mrr"]
    if plans == {"starter", "team"}:
        assert monthly["mrr"].tolist() == grid.monthly()["mrr"].tolist()

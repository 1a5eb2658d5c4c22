"""Hand-worked cases for every rule of docs/revenue.md, "MRR of a state" to "NRR and GRR" (amounts in cents)."""

from datetime import date
from decimal import Decimal

from control_plane.revenue.money import arpa_cents, state_mrr_cents
from tests.mrr_helpers import moves, state, table


def test_new_then_churn_then_reactivation():
    t = table([state("a", "2025-01-10"), state("a", "2025-02-03", status="canceled"),
               state("a", "2025-04-20", "150")])
    assert moves(t["2025-01"]) == {"new": 10000}
    assert moves(t["2025-02"]) == {"churn": -10000}
    assert moves(t["2025-03"]) == {}
    assert moves(t["2025-04"]) == {"reactivation": 15000}  # paid at an earlier month-end: not new
    assert [t[m]["mrr"] for m in ("2025-01", "2025-02", "2025-03", "2025-04")] == [10000, 0, 0, 15000]


def test_expansion_and_contraction_from_seats_and_price():
    t = table([state("a", "2025-01-01", "20", seats=5), state("a", "2025-02-15", "20", seats=8),
               state("a", "2025-03-15", "15", seats=8)])
    assert moves(t["2025-02"]) == {"expansion": 6000}      # 100.00 -> 160.00
    assert moves(t["2025-03"]) == {"contraction": -4000}   # 160.00 -> 120.00
    assert t["2025-03"]["mrr"] == 12000


def test_annual_plans_are_divided_by_twelve_and_rounded_half_up():
    assert state_mrr_cents(Decimal("1200"), 1, Decimal(0), "year", "active") == 10000
    assert state_mrr_cents(Decimal("1000"), 1, Decimal(0), "year", "active") == 8333   # 83.333…
    assert state_mrr_cents(Decimal("1000"), 2, Decimal(0), "year", "active") == 16667  # 166.666…
    assert state_mrr_cents(Decimal("0.06"), 1, Decimal(0), "year", "active") == 1      # 0.005 -> 0.01 (half up)
    assert state_mrr_cents(Decimal("0.05"), 1, Decimal(0), "year", "active") == 0      # 0.00416…
    t = table([state("a", "2025-01-01", "1000", interval="year"), state("b", "2025-01-01", "1000", interval="year")])
    assert t["2025-01"]["mrr"] == 2 * 8333  # rounded per state, then summed exactly


def test_rounding_is_per_state_then_an_exact_sum():
    # Each state is 0.005 -> 0.01; rounding the sum instead would give 0.01.
    t = table([state(f"t{i}", "2025-01-01", "0.005") for i in range(2)])
    assert t["2025-01"]["mrr"] == 2


def test_discounts_including_100_percent():
    assert state_mrr_cents(Decimal("50"), 3, Decimal("20"), "month", "active") == 12000
    assert state_mrr_cents(Decimal("99.99"), 1, Decimal("33.33"), "month", "active") == 6666  # 66.6633
    assert state_mrr_cents(Decimal("10.01"), 1, Decimal("50"), "month", "active") == 501      # 5.005 -> 5.01
    t = table([state("a", "2025-01-01", "80"), state("a", "2025-02-01", "80", discount="100")])
    assert t["2025-02"]["mrr"] == 0 and t["2025-02"]["customers"] == 0
    assert moves(t["2025-02"]) == {"churn": -8000}  # a free customer is not a paying one


def test_trial_and_paused_count_zero_and_past_due_counts():
    t = table([state("a", "2025-01-01", status="trial"), state("a", "2025-02-01"),
               state("a", "2025-03-01", status="past_due"), state("a", "2025-04-01", status="paused"),
               state("a", "2025-05-01")])
    assert [t[m]["mrr"] for m in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05")] == \
        [0, 10000, 10000, 0, 10000]
    assert moves(t["2025-01"]) == {}
    assert moves(t["2025-02"]) == {"new": 10000}   # a trial never paid: converting is new
    assert moves(t["2025-03"]) == {}               # past_due still counts
    assert moves(t["2025-04"]) == {"churn": -10000}
    assert moves(t["2025-05"]) == {"reactivation": 10000}


def test_several_changes_in_one_month_net_at_month_end():
    t = table([state("a", "2024-12-01", "100"),
               state("a", "2025-01-05", "300"), state("a", "2025-01-12", status="canceled"),
               state("a", "2025-01-20", "100"),
               state("b", "2025-01-02", "40"), state("b", "2025-01-30", "70")])
    assert moves(t["2025-01"]) == {"new": 7000}  # a: back where it was; b: only its month-end state
    assert t["2025-01"]["mrr"] == 17000


def test_a_change_on_the_last_day_of_a_month_counts_in_that_month():
    t = table([state("a", "2025-01-31"), state("a", "2025-02-28", "150"), state("b", "2024-02-29", "10"),
               state("b", "2024-03-01", "20")], start="2024-02")
    assert moves(t["2025-01"]) == {"new": 10000}
    assert moves(t["2025-02"]) == {"expansion": 5000}
    assert t["2024-02"]["mrr"] == 1000 and t["2024-03"]["mrr"] == 2000  # leap day belongs to February


def test_history_before_from_still_counts():
    states = [state("a", "2024-11-01", "100"), state("b", "2024-12-01", "50"), state("a", "2025-02-01", "120")]
    t = table(states, start="2025-01", end="2025-02")
    assert list(t) == ["2025-01", "2025-02"]
    assert t["2025-01"]["mrr"] == 15000 and moves(t["2025-01"]) == {}  # not "new" just because rows start here
    assert moves(t["2025-02"]) == {"expansion": 2000}


def test_months_without_changes_are_rows_and_range_reaches_this_month():
    t = table([state("a", "2025-01-01")], today=date(2025, 4, 2))
    assert list(t) == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert all(t[m]["mrr"] == 10000 for m in t)


def test_unsorted_input_gives_the_same_table():
    states = [state("a", "2025-03-01", "130"), state("b", "2025-01-09"), state("a", "2025-01-01", "100"),
              state("b", "2025-02-01", status="canceled"), state("a", "2025-02-10", "90")]
    assert table(states) == table(sorted(states, key=lambda s: (s.tenant, s.effective_date)))
    assert table(list(reversed(states))) == table(states)


def test_a_tenant_that_never_paid_is_never_a_customer():
    t = table([state("a", "2025-01-01", status="trial"), state("a", "2025-02-01", status="canceled"),
               state("b", "2025-01-01", "0"), state("c", "2025-01-01", seats=0)])
    for row in t.values():
        assert row["mrr"] == 0 and row["customers"] == 0 and moves(row) == {} and row["arpa"] == 0


def test_customers_arpa_and_identities():
    t = table([state("a", "2025-01-01", "100"), state("b", "2025-01-01", "50"), state("c", "2025-01-01", "0.01")])
    row = t["2025-01"]
    assert row["customers"] == 3
    assert row["arpa"] == 5000  # 150.01 / 3 = 50.0033… -> 50.00
    assert arpa_cents(10, 4) == 3 and arpa_cents(5, 2) == 3 and arpa_cents(0, 0) == 0  # half up
    assert row["net_new"] == sum(moves(row).values()) == row["mrr"]


def test_churn_rates_and_arr():
    states = [state("a", "2025-01-01", "100"), state("b", "2025-01-01", "100"), state("c", "2025-01-01", "100"),
              state("d", "2025-01-01", "100"),
              state("a", "2025-02-01", status="canceled"), state("b", "2025-02-01", "50"),
              state("c", "2025-02-01", "130")]
    t = table(states)
    feb = t["2025-02"]
    assert feb["arr"] == 12 * feb["mrr"] == 12 * 28000
    assert feb["logo_churn_pct"] == 25.0              # 1 of 4
    assert feb["gross_revenue_churn_pct"] == 37.5     # (100 + 50) / 400
    assert feb["net_revenue_churn_pct"] == 30.0       # (150 - 30) / 400


def test_nrr_and_grr_over_twelve_months():
    states = [state("a", "2024-01-01", "100"), state("b", "2024-01-01", "100"),
              state("a", "2024-06-01", "150"), state("b", "2024-07-01", "60"),
              state("c", "2024-08-01", "500")]  # c was not a customer 12 months before: left out
    t = table(states, today=date(2025, 1, 20))
    jan = t["2025-01"]
    assert jan["nrr_pct"] == 105.0   # (150 + 60) / 200
    assert jan["grr_pct"] == 80.0    # (min(150,100) + 60) / 200
    assert t["2024-12"]["nrr_pct"] is None  # no 12 months of history yet

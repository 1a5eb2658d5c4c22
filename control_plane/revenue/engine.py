"""The MRR engine: month-end snapshots on a tenants × months grid of integer cents, and every
series the definitions name, computed with numpy on that grid (exact: int64 sums only).

Input is one snapshot per (tenant, month) that has changes: the last state effective in that
month. A tenant's MRR at a month-end is its latest snapshot at or before that month, so the grid
is those snapshots carried forward.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from control_plane.revenue import months
from control_plane.revenue.ledger import SubscriptionState
from control_plane.revenue.money import arpa_cents, state_mrr_cents

MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")


@dataclass(frozen=True)
class Snapshots:
    """Parallel arrays: tenant, month index, plan and MRR cents of each (tenant, month)'s last state."""

    tenant: np.ndarray
    month: np.ndarray
    plan: np.ndarray
    mrr_cents: np.ndarray

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[str, int, str, int]]) -> Snapshots:
        if not rows:
            return cls(np.array([], dtype=object), np.array([], dtype=np.int64),
                       np.array([], dtype=object), np.array([], dtype=np.int64))
        frame = pd.DataFrame.from_records(rows, columns=["tenant", "month", "plan", "mrr_cents"])
        return cls(frame["tenant"].to_numpy(dtype=object), frame["month"].to_numpy(dtype=np.int64),
                   frame["plan"].to_numpy(dtype=object), frame["mrr_cents"].to_numpy(dtype=np.int64))


def snapshots_from_states(states: Iterable[SubscriptionState]) -> Snapshots:
    """What the ledger query returns, computed in Python (tests and the pure path)."""
    last: dict[tuple[str, int], SubscriptionState] = {}
    for s in states:
        key = (s.tenant, months.index(s.effective_date))
        if key not in last or s.effective_date > last[key].effective_date:
            last[key] = s
    rows = [(t, m, s.plan, state_mrr_cents(s.price, s.seats, s.discount_percent, s.interval, s.status))
            for (t, m), s in sorted(last.items())]
    return Snapshots.from_rows(rows)


@dataclass
class MrrGrid:
    """mrr[t, j] = tenant t's MRR in cents at the end of month first_month + j; plan[t, j] indexes
    `plans` (-1 before the tenant's first state)."""

    tenants: np.ndarray
    first_month: int
    mrr: np.ndarray
    plan: np.ndarray
    plans: list[str]

    @classmethod
    def build(cls, snaps: Snapshots, last_month: int | None = None, first_month: int | None = None) -> MrrGrid:
        if len(snaps.month) == 0:
            first = first_month if first_month is not None else (last_month or 0)
            last = max(last_month if last_month is not None else first, first)
            width = last - first + 1
            return cls(np.array([], dtype=object), first, np.zeros((0, width), np.int64),
                       np.full((0, width), -1, np.int32), [])
        first = int(snaps.month.min())
        if first_month is not None:
            first = min(first, first_month)
        last = max(int(snaps.month.max()), last_month if last_month is not None else first)
        width = last - first + 1
        # Hash-based factorising: sorting thousands of Python strings with np.unique is far slower.
        t_idx, tenants = pd.factorize(snaps.tenant, sort=True)
        p_idx, plans = pd.factorize(snaps.plan, sort=True)
        tenants = np.asarray(tenants, dtype=object)
        source = np.full((len(tenants), width), -1, dtype=np.int64)
        source[t_idx, snaps.month - first] = np.arange(len(snaps.month))
        # Carry every snapshot forward to the following month-ends until the next one.
        cols = np.where(source >= 0, np.arange(width)[None, :], -1)
        latest_col = np.maximum.accumulate(cols, axis=1)
        rows = np.arange(len(tenants))[:, None]
        filled = np.where(latest_col >= 0, source[rows, np.maximum(latest_col, 0)], -1)
        known = filled >= 0
        mrr = np.where(known, snaps.mrr_cents[np.maximum(filled, 0)], 0).astype(np.int64)
        plan = np.where(known, p_idx[np.maximum(filled, 0)], -1).astype(np.int32)
        return cls(tenants, first, mrr, plan, [str(p) for p in plans])

    @property
    def width(self) -> int:
        return self.mrr.shape[1]

    @property
    def last_month(self) -> int:
        return self.first_month + self.width - 1

    def month_labels(self) -> list[str]:
        return [months.label(self.first_month + j) for j in range(self.width)]

    def only_plans(self, selected: Iterable[str]) -> MrrGrid:
        """The grid seen through a plan filter: a tenant-month counts only while on a selected plan
        (moving between plans is churn from one segment and new/reactivation in the other)."""
        wanted = [i for i, p in enumerate(self.plans) if p in set(selected)]
        keep = np.isin(self.plan, wanted)
        return MrrGrid(self.tenants, self.first_month, np.where(keep, self.mrr, 0), self.plan, self.plans)

    # --- per tenant-month movements -----------------------------------------------------------

    @cached_property
    def previous(self) -> np.ndarray:
        return np.concatenate([np.zeros((len(self.tenants), 1), np.int64), self.mrr[:, :-1]], axis=1)

    @cached_property
    def movements(self) -> dict[str, np.ndarray]:
        prev, cur = self.previous, self.mrr
        paid = cur > 0
        # Paid at any month-end before this one (the grid starts at the first change: nothing earlier).
        paid_before = np.concatenate([np.zeros((len(self.tenants), 1), bool),
                                      np.logical_or.accumulate(paid, axis=1)[:, :-1]], axis=1)
        starts = (prev == 0) & paid
        zero = np.zeros_like(cur)
        return {
            "new": np.where(starts & ~paid_before, cur, zero),
            "expansion": np.where((prev > 0) & (cur > prev), cur - prev, zero),
            "contraction": np.where(paid & (cur < prev), cur - prev, zero),
            "churn": np.where((prev > 0) & ~paid, -prev, zero),
            "reactivation": np.where(starts & paid_before, cur, zero),
        }

    # --- monthly series -----------------------------------------------------------------------

    def monthly(self) -> pd.DataFrame:
        """One row per month: the `billing mrr` columns in integer cents, plus ARR and churn rates."""
        mrr = self.mrr.sum(axis=0)
        moves = {name: grid.sum(axis=0) for name, grid in self.movements.items()}
        customers = (self.mrr > 0).sum(axis=0)
        net_new = sum(moves[name] for name in MOVEMENTS) if len(self.tenants) else np.zeros(self.width, np.int64)
        frame = pd.DataFrame({"month": self.month_labels(), "mrr": mrr.astype(np.int64)})
        for name in MOVEMENTS:
            frame[name] = moves[name].astype(np.int64)
        frame["net_new"] = np.asarray(net_new, dtype=np.int64)
        frame["customers"] = customers.astype(np.int64)
        frame["arpa"] = [arpa_cents(int(m), int(c)) for m, c in zip(mrr, customers, strict=True)]
        frame["arr"] = frame["mrr"] * 12
        prev_mrr = np.concatenate([[0], mrr[:-1]])
        prev_customers = np.concatenate([[0], customers[:-1]])
        churned = ((self.previous > 0) & (self.mrr == 0)).sum(axis=0)
        frame["churned_customers"] = churned.astype(np.int64)
        lost = -(moves["churn"] + moves["contraction"])
        regained = moves["expansion"] + moves["reactivation"]
        frame["logo_churn_pct"] = _pct(churned, prev_customers)
        frame["gross_revenue_churn_pct"] = _pct(lost, prev_mrr)
        frame["net_revenue_churn_pct"] = _pct(lost - regained, prev_mrr)
        nrr, grr = self.retention_12m()
        frame["nrr_pct"], frame["grr_pct"] = nrr, grr
        return frame

    def retention_12m(self) -> tuple[np.ndarray, np.ndarray]:
        """NRR and GRR (%) of each month over the customers paying 12 months earlier; NaN before
        there are 12 months of history or when nobody paid then."""
        nrr = np.full(self.width, np.nan)
        grr = np.full(self.width, np.nan)
        if self.width > 12 and len(self.tenants):
            base, now = self.mrr[:, :-12], self.mrr[:, 12:]
            cohort = base > 0
            base_sum = base.sum(axis=0)
            kept = np.where(cohort, now, 0).sum(axis=0)
            capped = np.where(cohort, np.minimum(now, base), 0).sum(axis=0)
            nrr[12:] = _pct(kept, base_sum)
            grr[12:] = _pct(capped, base_sum)
        return nrr, grr

    def by_plan(self) -> pd.DataFrame:
        """month, plan, mrr (cents), customers: every plan with a paying tenant that month."""
        if not len(self.tenants):
            return pd.DataFrame({"month": [], "plan": [], "mrr": [], "customers": []})
        n_plans = len(self.plans)
        paid = self.mrr > 0
        month_idx = np.broadcast_to(np.arange(self.width)[None, :], self.mrr.shape)
        key = (month_idx * n_plans + self.plan)[paid]
        counts = np.bincount(key, minlength=self.width * n_plans)
        cents = np.zeros(self.width * n_plans, np.int64)
        np.add.at(cents, key, self.mrr[paid])
        flat = np.nonzero(counts)[0]
        j, p = np.divmod(flat, n_plans)
        labels = self.month_labels()
        return pd.DataFrame({"month": [labels[i] for i in j], "plan": [self.plans[i] for i in p],
                             "mrr": cents[flat], "customers": counts[flat].astype(np.int64)})

    def cohorts(self) -> pd.DataFrame:
        """Retention by first-paid month: cohort, age (months since), customers and MRR of the cohort
        then and at that age, logo and revenue retention (%)."""
        paid = self.mrr > 0
        ever = paid.any(axis=1)
        if not ever.any():
            return pd.DataFrame(columns=["cohort", "age", "cohort_customers", "customers", "cohort_mrr", "mrr",
                                         "logo_retention_pct", "revenue_retention_pct"])
        first = np.argmax(paid, axis=1)[ever]
        mrr, is_paid = self.mrr[ever], paid[ever]
        width = self.width
        age = np.arange(width)[None, :] - first[:, None]
        valid = age >= 0
        key = (first[:, None] * width + age)[valid]
        cents = np.zeros(width * width, np.int64)
        logos = np.zeros(width * width, np.int64)
        np.add.at(cents, key, mrr[valid])
        np.add.at(logos, key, is_paid[valid].astype(np.int64))
        cohort_idx, ages = np.divmod(np.unique(key), width)
        flat = cohort_idx * width + ages
        start = cohort_idx * width
        frame = pd.DataFrame({
            "cohort": [months.label(self.first_month + int(c)) for c in cohort_idx],
            "age": ages.astype(np.int64),
            "cohort_customers": logos[start], "customers": logos[flat],
            "cohort_mrr": cents[start], "mrr": cents[flat],
        })
        frame["logo_retention_pct"] = _pct(frame["customers"].to_numpy(), frame["cohort_customers"].to_numpy())
        frame["revenue_retention_pct"] = _pct(frame["mrr"].to_numpy(), frame["cohort_mrr"].to_numpy())
        return frame

    # --- per tenant, one month ----------------------------------------------------------------

    def tenant_month(self, month: int) -> pd.DataFrame:
        """Every tenant with MRR or a movement in `month`: previous and current MRR, plan, movement."""
        j = month - self.first_month
        if not 0 <= j < self.width or not len(self.tenants):
            return pd.DataFrame(columns=["tenant", "plan", "previous_mrr", "mrr", "movement", "change"])
        kind = np.full(len(self.tenants), "", dtype=object)
        change = np.zeros(len(self.tenants), np.int64)
        for name in MOVEMENTS:
            amount = self.movements[name][:, j]
            hit = amount != 0
            kind[hit], change[hit] = name, amount[hit]
        plan = self.plan[:, j]
        frame = pd.DataFrame({
            "tenant": self.tenants.astype(str), "plan": [self.plans[p] if p >= 0 else "" for p in plan],
            "previous_mrr": self.previous[:, j], "mrr": self.mrr[:, j], "movement": kind, "change": change,
        })
        return frame[(frame["mrr"] > 0) | (frame["change"] != 0)].reset_index(drop=True)


def _pct(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """100 × n / d rounded to 2 decimals; NaN where d is 0. Rates are ratios, not money."""
    n = np.asarray(numerator, dtype=np.float64)
    d = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.round(np.where(d != 0, 100.0 * n / np.where(d != 0, d, 1), np.nan), 2)

"""Helpers for the MRR tests: compact states and the engine's monthly table as plain dicts."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

from control_plane.revenue.engine import snapshots_from_states
from control_plane.revenue.ledger import SubscriptionState
from control_plane.revenue.reports import build_grid

TODAY = date(2025, 6, 15)


def state(tenant: str, day: str, price: str = "100", *, seats: int = 1, status: str = "active",
          interval: str = "month", discount: str = "0", plan: str = "team") -> SubscriptionState:
    return SubscriptionState(tenant, date.fromisoformat(day), plan, interval, Decimal(price), seats,
                             Decimal(discount), status)


def table(states, start: str | None = None, end: str | None = None, today: date = TODAY) -> dict[str, dict]:
    """month -> row of integer cents (and customers), for the months in the range."""
    grid, span = build_grid(snapshots_from_states(states), start, end, today)
    frame = grid.monthly()
    lo, hi = span.start - grid.first_month, span.end - grid.first_month
    rows = frame.iloc[lo:hi + 1].to_dict("records")
    # NaN (a rate with nothing to divide by) never equals itself; None does.
    return {row["month"]: {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in rows}


def moves(row: dict) -> dict[str, int]:
    """The non-zero movements of a row, in cents."""
    return {k: int(row[k]) for k in ("new", "expansion", "contraction", "churn", "reactivation") if row[k]}

"""Headline revenue figures for the Overview page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.revenue.reports import current_mrr_row


def headline(ctx: AppContext, actor: Actor, *, today: date | None = None) -> dict[str, Any]:
    """{'month': 'YYYY-MM', 'mrr': Decimal, 'arr': Decimal, 'customers': int, 'net_new': Decimal}

    This month as of now (the same figures as its `billing mrr` row); month None and zeros when the
    ledger is empty. Needs revenue.read (Forbidden otherwise): check actor.can(...) before calling."""
    row = current_mrr_row(ctx, actor, today=today)
    if row is None:
        zero = Decimal("0.00")
        return {"month": None, "mrr": zero, "arr": zero, "customers": 0, "net_new": zero}
    return {"month": row["month"], "mrr": row["mrr"], "arr": row["mrr"] * 12, "customers": row["customers"],
            "net_new": row["net_new"]}

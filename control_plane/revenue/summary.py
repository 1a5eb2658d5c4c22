"""Headline revenue figures for the Overview page (revenue area deepens this)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext


def headline(ctx: AppContext, actor: Actor) -> dict[str, Any]:
    """{'month': 'YYYY-MM', 'mrr': Decimal, 'arr': Decimal, 'customers': int, 'net_new': Decimal}"""
    return {"month": None, "mrr": Decimal("0.00"), "arr": Decimal("0.00"), "customers": 0, "net_new": Decimal("0.00")}

"""Headline uptime figures for the Overview page (uptime area deepens this)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext


def headline(ctx: AppContext, actor: Actor) -> dict[str, Any]:
    """{'uptime_30d_pct': float | None, 'open_incidents': int, 'down_now': int}"""
    return {"uptime_30d_pct": None, "open_incidents": 0, "down_now": 0}


def tenant_recent_checks(ctx: AppContext, actor: Actor, slug: str, limit: int = 100) -> pd.DataFrame:
    """Latest checks of one tenant's targets: columns target, checked_at, ok, latency_ms, error."""
    return pd.DataFrame(columns=["target", "checked_at", "ok", "latency_ms", "error"])

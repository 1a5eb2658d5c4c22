"""Usage read models (AWS area deepens this)."""

from __future__ import annotations

import pandas as pd

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext


def tenant_daily_usage(ctx: AppContext, actor: Actor, slug: str, days: int = 90) -> pd.DataFrame:
    """Columns day, storage_bytes, row_estimate, connections, requests, errors, p95_latency_ms."""
    return pd.DataFrame(columns=["day", "storage_bytes", "row_estimate", "connections", "requests", "errors",
                                 "p95_latency_ms"])

"""Tenants and load per cluster, so a person can see where to move a tenant to (docs/operations.md
"Moving a tenant"): tenants by status, storage and rows from each live tenant's latest usage roll-up,
requests over the last 7 days, capacity (ACU floor/ceiling, whether it takes new tenants), the
tenants flagged noisy on it and the moves running in or out."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from control_plane.adapters import cluster_load
from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.services.placement import LIVE

COLUMNS = list(cluster_load.COLUMNS)


def cluster_load_frame(ctx: AppContext, actor: Actor, *, today: date | None = None) -> pd.DataFrame:
    """One row per registered cluster (the catalog's order: the default first), columns COLUMNS;
    `noisy_tenants` is a list of slugs with an open noisy-neighbour flag."""
    authorize(ctx, actor, Permission.TENANTS_READ, "cluster.load")
    day = today or datetime.now(UTC).date()
    with ctx.engine.connect() as conn:
        rows = cluster_load.fetch_cluster_load(conn, tuple(LIVE), day)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if not frame.empty:
        frame["noisy_tenants"] = frame["noisy_tenants"].map(list)
    return frame


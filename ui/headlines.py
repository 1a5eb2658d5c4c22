"""Overview figures, cached briefly per user (ui/cached_reads.py; the services decide what a role may see)."""

from __future__ import annotations

import pandas as pd

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.services import tenants as tenant_service
from ui import cached_reads as reads

LIVE = ("active", "suspended", "provisioning", "archiving")


def status_counts(ctx: AppContext, actor: Actor) -> tuple[dict[str, int], pd.DataFrame]:
    """Tenants per status, and live tenants per plan (plan order as in the catalog)."""
    rows = reads.tenant_counts(ctx, actor)
    by_status: dict[str, int] = {}
    by_plan: dict[str, int] = {}
    for status, plan, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        if status in LIVE:
            by_plan[plan] = by_plan.get(plan, 0) + count
    known = tenant_service.plan_codes(ctx)
    order = [p for p in known if p in by_plan] + sorted(p for p in by_plan if p not in known)
    mix = pd.DataFrame({"plan": order, "tenants": [by_plan[p] for p in order]})
    if not mix.empty:
        mix["plan"] = pd.Categorical(mix["plan"], categories=order, ordered=True)
    return by_status, mix


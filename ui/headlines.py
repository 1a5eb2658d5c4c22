"""Overview figures, cached briefly per user (the services decide what a role may see)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor, Role
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.revenue import summary as revenue_summary
from control_plane.services import tenants as tenant_service
from control_plane.uptime import summary as uptime_summary

LIVE = ("active", "suspended", "provisioning", "archiving")
TTL = 30  # seconds: headline figures may lag a little; actions on the Tenants page never do


def status_counts(ctx: AppContext, actor: Actor) -> tuple[dict[str, int], pd.DataFrame]:
    """Tenants per status, and live tenants per plan (plan order as in the catalog)."""
    rows = _tenant_counts(ctx, actor.name, actor.role.value)
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


def revenue_headline(ctx: AppContext, actor: Actor) -> dict[str, Any] | None:
    return _revenue(ctx, actor.name, actor.role.value)


def uptime_headline(ctx: AppContext, actor: Actor) -> dict[str, Any] | None:
    return _uptime(ctx, actor.name, actor.role.value)


@st.cache_data(ttl=TTL, show_spinner=False)
def _tenant_counts(_ctx: AppContext, name: str, role: str) -> list[tuple[str, str, int]]:
    return tenant_service.tenant_counts(_ctx, Actor(name, Role(role)))


@st.cache_data(ttl=TTL, show_spinner="Computing MRR…")
def _revenue(_ctx: AppContext, name: str, role: str) -> dict[str, Any] | None:
    try:
        return revenue_summary.headline(_ctx, Actor(name, Role(role)))
    except ControlPlaneError:
        return None


@st.cache_data(ttl=TTL, show_spinner="Computing uptime…")
def _uptime(_ctx: AppContext, name: str, role: str) -> dict[str, Any] | None:
    try:
        return uptime_summary.headline(_ctx, Actor(name, Role(role)))
    except ControlPlaneError:
        return None

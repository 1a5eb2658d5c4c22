"""Headline uptime figures for the Overview page, and a tenant's latest checks for its page."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import text

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.domain.slugs import validate_slug
from control_plane.uptime import raw, targets, views
from control_plane.uptime.figures import half_up


def headline(ctx: AppContext, actor: Actor) -> dict[str, Any]:
    """{'uptime_30d_pct': float | None, 'open_incidents': int, 'down_now': int}"""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.headline")
    figures = views.fleet(ctx, actor)
    down = views.down_now(ctx, actor)
    uptime = figures["uptime_30d_pct"]
    return {"uptime_30d_pct": half_up(uptime, 3),
            "open_incidents": figures["open_incidents"], "down_now": len(down),
            "budget_left_pct": figures["budget_left_pct"], "burn_rate_1h": figures["burn_rate_1h"]}


def tenant_recent_checks(ctx: AppContext, actor: Actor, slug: str, limit: int = 100) -> pd.DataFrame:
    """Latest checks of one tenant's targets: columns target, checked_at, ok, latency_ms, error."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.tenant_checks", tenant_slug=slug)
    columns = ["target", "checked_at", "ok", "latency_ms", "error"]
    with ctx.session_factory() as session:
        rows = session.execute(text(f"""
            WITH ids AS (SELECT id FROM control_plane.check_targets WHERE name = ANY(:targets)),
            -- Hour rows newer than the limit-th newest hold at least `limit` checks newer than any
            -- older row's, so older rows are never opened.
            edge AS (SELECT hour_start FROM control_plane.check_hours WHERE target_id IN (SELECT id FROM ids)
                      ORDER BY hour_start DESC OFFSET :limit - 1 LIMIT 1)
            SELECT c.target, c.checked_at, c.ok, c.latency_ms, c.error
              FROM {raw.source("COALESCE((SELECT hour_start FROM edge), '-infinity')", raw.NO_END,
                               target="IN (SELECT id FROM ids)")} c
             ORDER BY c.checked_at DESC LIMIT :limit"""),
            {"targets": targets.tenant_targets(slug), "limit": max(1, min(limit, 10_000))}).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame["latency_ms"] = pd.to_numeric(frame["latency_ms"]).astype("float64")
    return frame

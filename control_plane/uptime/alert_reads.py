"""`uptime alerts`: the burn-rate alerts stored by the sweep, and the ones that fire at a given
instant computed from the checks (docs/uptime.md "Burn-rate alerts"). Read only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.uptime import burn, slo
from control_plane.uptime.figures import half_up
from control_plane.uptime.runs import detect_runs

STORED_FIELDS = ["at", "severity", "target", "tenant", "message", "published", "publish_error"]
FIRING_FIELDS = ["at", "target", "tenant", "window", "factor", "severity", "long_checks", "long_failed",
                 "long_burn_rate", "short_checks", "short_failed", "short_burn_rate", "open_incident", "alert"]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # the importer accepts no check before this


def stored(ctx: AppContext, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """The latest stored burn-rate alerts, newest first."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.alerts")
    with ctx.session_factory() as session:
        rows = session.execute(text(
            "SELECT at, severity, target, tenant_slug, message, published, publish_error FROM control_plane.alerts "
            "WHERE kind = 'burn_rate' ORDER BY at DESC, id DESC LIMIT :limit"), {"limit": limit}).all()
    return [dict(zip(STORED_FIELDS, row, strict=True)) for row in rows]


def firing(ctx: AppContext, actor: Actor, at: datetime) -> list[dict[str, Any]]:
    """Per target with a firing window pair at `at` (windows [at − length, at)): its first firing
    row of the table, the counts and burn rates of both windows, whether an incident is open at
    `at` (detected from the checks before `at`), and `alert`: whether an evaluation at `at` raises
    it (no open incident). The repeat rule (no second alert for the same pair within
    max(short window, 1 h)) depends on what earlier evaluations stored and is not applied here."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.alerts")
    target_slo = ctx.settings.slo_target
    with ctx.session_factory() as session:
        first: dict[str, burn.Burn] = {}
        for found in burn.burning(session, at, target_slo):
            first.setdefault(found.target, found)
        open_targets = set()
        if first:
            open_targets = {run.target for run in detect_runs(
                session, EARLIEST, at, ctx.settings.incident_threshold, targets=sorted(first), seen_until=at)
                if run.resolved_at is None}
    out = []
    for target in sorted(first):
        found = first[target]
        window = found.window
        is_open = target in open_targets
        out.append({
            "at": at, "target": target, "tenant": found.tenant_slug,
            "window": f"{slo.fmt_duration(window.long)}/{slo.fmt_duration(window.short)}",
            "factor": window.factor, "severity": "critical" if window.severity == "page" else "warning",
            "long_checks": found.long_checks, "long_failed": found.long_failed,
            "long_burn_rate": half_up(found.long_rate, 2),
            "short_checks": found.short_checks, "short_failed": found.short_failed,
            "short_burn_rate": half_up(found.short_rate, 2),
            "open_incident": is_open, "alert": not is_open,
        })
    return out

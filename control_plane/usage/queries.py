"""Usage read models: one tenant's daily trend, platform totals, top consumers, noisy flags."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import text

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.domain.slugs import validate_slug
from control_plane.errors import InvalidInput

DAILY_COLUMNS = ["day", "storage_bytes", "row_estimate", "connections", "requests", "errors", "p95_latency_ms"]
TOP_METRICS = {"requests": "requests", "errors": "errors", "storage_bytes": "storage_bytes",
               "error_rate": "error_rate", "requests_per_day": "requests_per_day",
               "errors_per_day": "errors_per_day"}


def _today() -> date:
    return datetime.now(UTC).date()


def _check_days(days: int) -> int:
    if not 1 <= int(days) <= 3660:
        raise InvalidInput("The window must be between 1 and 3660 days.")
    return int(days)


def _frame(ctx: AppContext, sql: str, params: dict, columns: list[str]) -> pd.DataFrame:
    with ctx.engine.connect() as conn:
        rows = conn.execute(text(sql), params).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def tenant_daily_usage(ctx: AppContext, actor: Actor, slug: str, days: int = 90, *,
                       today: date | None = None) -> pd.DataFrame:
    """Columns day, storage_bytes, row_estimate, connections, requests, errors, p95_latency_ms."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.USAGE_READ, "usage.tenant", tenant_slug=slug)
    since = (today or _today()) - timedelta(days=_check_days(days) - 1)
    frame = _frame(ctx, """
        SELECT day, storage_bytes, row_estimate, connections, requests, errors, p95_latency_ms::float8
          FROM control_plane.usage_daily WHERE tenant_slug = :slug AND day >= :since ORDER BY day""",
                   {"slug": slug, "since": since}, DAILY_COLUMNS)
    return frame


def top_consumers(ctx: AppContext, actor: Actor, *, metric: str = "requests", days: int = 30,
                  limit: int = 20, today: date | None = None) -> pd.DataFrame:
    """Tenants ranked by `metric` over the window: requests and errors summed, and per day (the
    average over the days the tenant has usage in the window, so a tenant created last week is not
    outranked by one with a month of small days), storage as of the latest day, error rate =
    errors / requests."""
    authorize(ctx, actor, Permission.USAGE_READ, "usage.top")
    if metric not in TOP_METRICS:
        raise InvalidInput(f"Unknown metric {metric!r}; use one of {', '.join(TOP_METRICS)}.")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000.")
    since = (today or _today()) - timedelta(days=_check_days(days) - 1)
    order = TOP_METRICS[metric]  # from the fixed mapping above, never user text
    return _frame(ctx, f"""
        WITH window_usage AS (
            SELECT tenant_slug, sum(requests)::bigint AS requests, sum(errors)::bigint AS errors,
                   max(p95_latency_ms)::float8 AS worst_p95_ms, max(day) AS last_day, count(*) AS days,
                   round(sum(requests)::numeric / count(*), 1)::float8 AS requests_per_day,
                   round(sum(errors)::numeric / count(*), 1)::float8 AS errors_per_day
              FROM control_plane.usage_daily WHERE day >= :since GROUP BY tenant_slug
        )
        SELECT w.tenant_slug, t.name, t.plan_code, t.cluster_name, t.status, w.requests_per_day,
               w.errors_per_day, w.days, w.requests, w.errors,
               CASE WHEN w.requests > 0 THEN round(100.0 * w.errors / w.requests, 2)::float8 ELSE 0 END
                   AS error_rate,
               latest.storage_bytes, w.worst_p95_ms
          FROM window_usage w
          LEFT JOIN control_plane.tenants t ON t.slug = w.tenant_slug
          LEFT JOIN control_plane.usage_daily latest ON latest.tenant_slug = w.tenant_slug
                                                   AND latest.day = w.last_day
         ORDER BY {order} DESC NULLS LAST, w.tenant_slug
         LIMIT :limit""", {"since": since, "limit": limit},
                  ["slug", "name", "plan", "cluster", "status", "requests_per_day", "errors_per_day",
                   "days_with_usage", "requests", "errors", "error_rate_pct", "storage_bytes", "worst_p95_ms"])


def noisy_flags(ctx: AppContext, actor: Actor, *, include_cleared: bool = False, days: int = 30,
                now: datetime | None = None) -> pd.DataFrame:
    """Open flags first (newest first), then cleared ones from the last `days` when asked."""
    authorize(ctx, actor, Permission.USAGE_READ, "usage.noisy")
    since = (now or datetime.now(UTC)) - timedelta(days=_check_days(days))
    where = "f.cleared_at IS NULL" + (" OR f.cleared_at >= :since" if include_cleared else "")
    return _frame(ctx, f"""
        SELECT f.tenant_slug, t.cluster_name, f.metric, f.value::float8, f.baseline::float8, f.factor::float8,
               f.at, f.cleared_at, f.recommendation
          FROM control_plane.noisy_neighbour_flags f
          LEFT JOIN control_plane.tenants t ON t.slug = f.tenant_slug
         WHERE {where}
         ORDER BY f.cleared_at IS NOT NULL, f.at DESC, f.tenant_slug""", {"since": since},
                  ["slug", "cluster", "metric", "value", "baseline", "factor", "flagged_at", "cleared_at",
                   "recommendation"])

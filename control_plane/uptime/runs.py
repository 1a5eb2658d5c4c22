"""Incident detection in SQL over raw checks, as of a given instant (checks at or after it are
not seen). Only failed checks are walked (they are rare and have a partial index); an ok check
between two failures, found through the (target, checked_at) index, splits them into two runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.uptime.store import not_in_maintenance


@dataclass(frozen=True)
class Run:
    target: str
    tenant_slug: str | None
    opened_at: datetime
    resolved_at: datetime | None
    failed_checks: int
    last_error: str | None


def detect_runs(session: Session, start: datetime, end: datetime, threshold: int, *,
                targets: list[str] | None = None, since: datetime | None = None) -> list[Run]:
    """Incidents (runs of >= threshold failures) opening in [start, end), seen as of `end`.
    `since` bounds how far back runs are walked (None: all raw history)."""
    params: dict[str, Any] = {"start": start, "end": end, "threshold": threshold}
    extra = ""
    if targets is not None:
        params["targets"] = targets
        extra += " AND c.target = ANY(:targets)"
    if since is not None:
        params["since"] = since
        extra += " AND c.checked_at >= :since"
    sql = f"""
    WITH hit AS (
        SELECT DISTINCT c.target FROM control_plane.check_results c
         WHERE NOT c.ok AND c.checked_at >= :start AND c.checked_at < :end{extra}),
    f AS (
        SELECT c.target, c.tenant_slug, c.checked_at, c.error,
               lag(c.checked_at) OVER (PARTITION BY c.target ORDER BY c.checked_at) AS prev_at
          FROM control_plane.check_results c JOIN hit USING (target)
         WHERE NOT c.ok AND c.checked_at < :end AND {not_in_maintenance('c')}{extra}),
    marked AS (
        SELECT f.*, CASE WHEN f.prev_at IS NULL OR EXISTS (
                   SELECT 1 FROM control_plane.check_results o
                    WHERE o.target = f.target AND o.ok AND o.checked_at > f.prev_at
                      AND o.checked_at < f.checked_at AND {not_in_maintenance('o')})
               THEN 1 ELSE 0 END AS is_start
          FROM f),
    numbered AS (
        SELECT marked.*, sum(is_start) OVER (PARTITION BY target ORDER BY checked_at) AS run_no FROM marked),
    agg AS (
        SELECT target, max(tenant_slug) AS tenant_slug, run_no, min(checked_at) AS opened_at,
               max(checked_at) AS last_failed, count(*) AS failed_checks,
               (array_agg(error ORDER BY checked_at DESC) FILTER (WHERE error IS NOT NULL))[1] AS last_error
          FROM numbered GROUP BY target, run_no)
    SELECT a.target, a.tenant_slug, a.opened_at,
           (SELECT min(o.checked_at) FROM control_plane.check_results o
             WHERE o.target = a.target AND o.ok AND o.checked_at > a.last_failed AND o.checked_at < :end
               AND {not_in_maintenance('o')}) AS resolved_at,
           a.failed_checks, a.last_error
      FROM agg a
     WHERE a.failed_checks >= :threshold AND a.opened_at >= :start AND a.opened_at < :end
     ORDER BY a.target, a.opened_at"""
    return [Run(*row) for row in session.execute(text(sql), params)]

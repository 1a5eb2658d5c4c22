"""Incident detection in SQL over raw checks, as of a given instant (checks at or after it are
not seen). Only failed checks are walked (they are rare: failing hour rows have a partial index);
an ok check between two failures, found through the target's index, splits them into two runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.uptime import raw
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
                targets: list[str] | None = None, since: datetime | None = None,
                seen_until: datetime | None = None) -> list[Run]:
    """Incidents (runs of >= threshold failures) opening in [start, end), seen as of `seen_until`
    (default `end`): checks at or after it are not seen, so a run that goes on past `end` is
    measured whole when `seen_until` is later. `since` bounds how far back runs are walked (None:
    all raw history)."""
    seen = end if seen_until is None else max(end, seen_until)
    params: dict[str, Any] = {"start": start, "end": end, "seen": seen, "threshold": threshold, "since": since,
                              "hit_from": start if since is None else max(start, since)}
    named = None
    if targets is not None:
        params["targets"] = targets
        named = raw.ids_of("targets")
    walk_from = raw.NO_START if since is None else ":since"
    failures = raw.failing(":hit_from", ":end", target=named)
    history = raw.source(walk_from, ":seen", target="IN (SELECT target_id FROM hit)", failed_only=True)
    ok_between = raw.nearest_ok("f.target_id", "f.prev_at", "f.checked_at",
                                not_in_maintenance("o", target="f.target", tenant="f.tenant_slug"), last=False)
    # By construction the first check after a run's last failure (outside maintenance) is ok:
    # a failure there would belong to the run. So resolution is the next ok check.
    resolution = raw.nearest_ok("a.target_id", "a.last_failed", ":seen",
                                not_in_maintenance("o", target="a.target", tenant="a.tenant_slug"), last=False)
    sql = f"""
    WITH hit AS (
        SELECT c.target_id FROM {failures} c),
    f AS (
        SELECT c.target_id, c.target, c.tenant_slug, c.checked_at, c.error,
               lag(c.checked_at) OVER (PARTITION BY c.target_id ORDER BY c.checked_at) AS prev_at
          FROM {history} c
         WHERE {not_in_maintenance('c')}),
    marked AS (
        SELECT f.*, CASE WHEN f.prev_at IS NULL OR {ok_between} IS NOT NULL THEN 1 ELSE 0 END AS is_start
          FROM f),
    numbered AS (
        SELECT marked.*, sum(is_start) OVER (PARTITION BY target_id ORDER BY checked_at) AS run_no FROM marked),
    agg AS (
        SELECT target_id, max(target) AS target, max(tenant_slug) AS tenant_slug, run_no,
               min(checked_at) AS opened_at, max(checked_at) AS last_failed, count(*) AS failed_checks,
               (array_agg(error ORDER BY checked_at DESC) FILTER (WHERE error IS NOT NULL))[1] AS last_error
          FROM numbered GROUP BY target_id, run_no)
    SELECT a.target, a.tenant_slug, a.opened_at, {resolution} AS resolved_at, a.failed_checks, a.last_error
      FROM agg a
     WHERE a.failed_checks >= :threshold AND a.opened_at >= :start AND a.opened_at < :end
     ORDER BY a.target, a.opened_at"""
    return [Run(*row) for row in session.execute(text(sql), params)]

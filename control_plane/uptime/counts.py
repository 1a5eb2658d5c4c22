"""Uptime counts and p95 latency per target over any window, from raw checks and roll-ups.

Counts are exact wherever raw checks or whole roll-up buckets answer (see windows.py). The p95 is
the nearest-rank 95th percentile; over raw checks it is exact, over roll-ups each bucket's p95
stands for its checks (a weighted nearest rank), which is what keeps 30-day reads fast.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.uptime import raw
from control_plane.uptime.store import not_in_maintenance, read_marks
from control_plane.uptime.windows import DAILY, HOURLY, RAW, Marks, Piece, plan

COLUMNS = ["target", "tenant_slug", "checks", "ok", "p95_latency_ms"]


def _ranges(pieces: list[Piece], source: str, column: str, params: dict[str, Any]) -> str | None:
    conds = []
    for i, piece in enumerate(p for p in pieces if p.source == source):
        a, b = f"{source}_a{i}", f"{source}_b{i}"
        params[a], params[b] = piece.start, piece.end
        conds.append(f"({column} >= :{a} AND {column} < :{b})")
    return " OR ".join(conds) if conds else None


def pieces_sql(start: datetime, end: datetime, marks: Marks, params: dict[str, Any],
               targets: list[str] | None) -> str:
    """A SELECT of (target, tenant_slug, checks, ok, latency, weight) rows covering the window."""
    pieces = plan(start, end, marks)
    target_filter = ""
    if targets is not None:
        params["targets"] = targets
        target_filter = " AND {a}.target = ANY(:targets)"
    parts = []
    for source in (DAILY, HOURLY):
        cond = _ranges(pieces, source, "r.bucket_start", params)
        if cond:
            parts.append(
                "SELECT r.target, r.tenant_slug, r.checks, r.ok, round(r.p95_latency_ms * 100)::int AS latency,"
                " r.checks AS weight"
                f" FROM control_plane.check_rollups r WHERE r.granularity = '{source}' AND ({cond})"
                + target_filter.format(a="r"))
    for i, piece in enumerate(p for p in pieces if p.source == RAW):
        a, b = f"raw_a{i}", f"raw_b{i}"
        params[a], params[b] = piece.start, piece.end
        checks = raw.source(f":{a}", f":{b}", target=raw.ids_of("targets") if targets is not None else None)
        parts.append(
            "SELECT c.target, c.tenant_slug, 1 AS checks, CASE WHEN c.ok THEN 1 ELSE 0 END AS ok,"
            f" c.latency_cms AS latency, 1 AS weight FROM {checks} c WHERE {not_in_maintenance('c')}")
    if not parts:
        return ("SELECT NULL::text AS target, NULL::text AS tenant_slug, 0 AS checks, 0 AS ok,"
                " NULL::int AS latency, 0 AS weight WHERE false")
    return " UNION ALL ".join(parts)


def counts(session: Session, start: datetime, end: datetime, *, targets: list[str] | None = None,
           marks: Marks | None = None, with_p95: bool = True) -> pd.DataFrame:
    """One row per target with checks in [start, end): target, tenant_slug, checks, ok, p95_latency_ms."""
    if end <= start:
        return pd.DataFrame(columns=COLUMNS)
    params: dict[str, Any] = {}
    body = pieces_sql(start, end, marks or read_marks(session), params, targets)
    if with_p95:
        sql = f"""
        WITH pieces AS MATERIALIZED ({body}),
        totals AS (
            SELECT target, max(tenant_slug) AS tenant_slug, sum(checks)::bigint AS checks, sum(ok)::bigint AS ok
              FROM pieces GROUP BY target),
        ranked AS (
            SELECT target COLLATE "C" AS target, latency,
                   sum(weight) OVER (PARTITION BY target COLLATE "C" ORDER BY latency ROWS UNBOUNDED PRECEDING) AS cum,
                   sum(weight) OVER (PARTITION BY target COLLATE "C") AS total
              FROM pieces WHERE latency IS NOT NULL),
        p95 AS (
            SELECT DISTINCT ON (target) target, latency FROM ranked
             WHERE cum >= ceil(0.95 * total) ORDER BY target, cum)
        SELECT t.target, t.tenant_slug, t.checks, t.ok, p.latency / 100.0 AS p95_latency_ms
          FROM totals t LEFT JOIN p95 p ON p.target = t.target COLLATE "C"
         WHERE t.checks > 0 ORDER BY t.target"""
    else:
        sql = f"""
        SELECT target, max(tenant_slug) AS tenant_slug, sum(checks)::bigint AS checks, sum(ok)::bigint AS ok,
               NULL::numeric AS p95_latency_ms
          FROM ({body}) pieces GROUP BY target HAVING sum(checks) > 0 ORDER BY target"""
    rows = session.execute(text(sql), params).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS)
    frame["checks"] = frame["checks"].astype("int64")
    frame["ok"] = frame["ok"].astype("int64")
    frame["p95_latency_ms"] = pd.to_numeric(frame["p95_latency_ms"], errors="coerce").astype("float64")
    return frame


SCOPE_COLUMNS = ["scope", "name", "checks", "ok", "p95_latency_ms"]


def scope_counts(session: Session, start: datetime, end: datetime, *, marks: Marks | None = None,
                 with_p95: bool = True) -> pd.DataFrame:
    """One row per tenant (all its targets together, scope 'tenant', name = slug) and per target
    of no tenant (scope 'platform', name = target) with checks in [start, end): scope, name,
    checks, ok, p95_latency_ms. A tenant's p95 is the nearest rank over the pooled latencies of
    all its targets (docs/uptime.md "p95 latency"), never the worst of its targets' p95s."""
    if end <= start:
        return pd.DataFrame(columns=SCOPE_COLUMNS)
    params: dict[str, Any] = {}
    body = pieces_sql(start, end, marks or read_marks(session), params, None)
    keyed = f"""
        SELECT CASE WHEN b.tenant_slug IS NULL THEN 'platform' ELSE 'tenant' END AS scope,
               COALESCE(b.tenant_slug, b.target) COLLATE "C" AS name, b.checks, b.ok, b.latency, b.weight
          FROM ({body}) b"""
    if with_p95:
        sql = f"""
        WITH pieces AS MATERIALIZED ({keyed}),
        totals AS (
            SELECT scope, name, sum(checks)::bigint AS checks, sum(ok)::bigint AS ok FROM pieces GROUP BY scope, name),
        ranked AS (
            SELECT scope, name, latency,
                   sum(weight) OVER (PARTITION BY scope, name ORDER BY latency ROWS UNBOUNDED PRECEDING) AS cum,
                   sum(weight) OVER (PARTITION BY scope, name) AS total
              FROM pieces WHERE latency IS NOT NULL),
        p95 AS (
            SELECT DISTINCT ON (scope, name) scope, name, latency FROM ranked
             WHERE cum >= ceil(0.95 * total) ORDER BY scope, name, cum)
        SELECT t.scope, t.name, t.checks, t.ok, p.latency / 100.0 AS p95_latency_ms
          FROM totals t LEFT JOIN p95 p ON p.scope = t.scope AND p.name = t.name
         WHERE t.checks > 0 ORDER BY t.scope, t.name"""
    else:
        sql = f"""
        SELECT scope, name, sum(checks)::bigint AS checks, sum(ok)::bigint AS ok, NULL::numeric AS p95_latency_ms
          FROM ({keyed}) pieces GROUP BY scope, name HAVING sum(checks) > 0 ORDER BY scope, name"""
    rows = session.execute(text(sql), params).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=SCOPE_COLUMNS)
    frame["checks"] = frame["checks"].astype("int64")
    frame["ok"] = frame["ok"].astype("int64")
    frame["p95_latency_ms"] = pd.to_numeric(frame["p95_latency_ms"], errors="coerce").astype("float64")
    return frame

"""The hourly usage rollup: today's row per tenant gets storage, rows and connections from
PostgreSQL and request figures from CloudWatch; yesterday's row gets its final request figures
(late datapoints arrive after midnight). Rows are kept for good (18+ months of history).

A source that fails is reported and leaves its columns untouched: a CloudWatch outage never
overwrites yesterday's requests with zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select, text

from control_plane.context import AppContext
from control_plane.db.models import Cluster, Tenant
from control_plane.errors import ControlPlaneError
from control_plane.usage.sources import DatabaseUsage, RequestUsage, cloudwatch_usage, database_usage

METERED = ("active", "suspended")

_UPSERT_TODAY = text("""
INSERT INTO control_plane.usage_daily AS u
       (tenant_slug, day, storage_bytes, row_estimate, connections, requests, errors, p95_latency_ms, updated_at)
VALUES (:slug, :day, :storage_bytes, :row_estimate, :connections, COALESCE(:requests, 0), COALESCE(:errors, 0),
        :p95, now())
ON CONFLICT (tenant_slug, day) DO UPDATE SET
       storage_bytes = COALESCE(:storage_bytes, u.storage_bytes),
       row_estimate = COALESCE(:row_estimate, u.row_estimate),
       connections = GREATEST(u.connections, COALESCE(:connections, 0)),
       requests = COALESCE(:requests, u.requests),
       errors = COALESCE(:errors, u.errors),
       p95_latency_ms = COALESCE(:p95, u.p95_latency_ms),
       updated_at = now()
""")
# Yesterday: request figures only; storage is a snapshot, so the first run ever seeds it from now.
_UPSERT_YESTERDAY = text("""
INSERT INTO control_plane.usage_daily AS u
       (tenant_slug, day, storage_bytes, row_estimate, connections, requests, errors, p95_latency_ms, updated_at)
VALUES (:slug, :day, COALESCE(:storage_bytes, 0), COALESCE(:row_estimate, 0), 0, COALESCE(:requests, 0),
        COALESCE(:errors, 0), :p95, now())
ON CONFLICT (tenant_slug, day) DO UPDATE SET
       requests = COALESCE(:requests, u.requests),
       errors = COALESCE(:errors, u.errors),
       p95_latency_ms = COALESCE(:p95, u.p95_latency_ms),
       updated_at = now()
""")


@dataclass
class RollupResult:
    tenants: int = 0
    rows_written: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text_ = f"{self.tenants} tenants, {self.rows_written} daily rows written"
        return text_ + (f"; problems: {'; '.join(self.problems)}" if self.problems else "")


def rollup_usage(ctx: AppContext, now: datetime) -> RollupResult:
    today = now.date()
    yesterday = today - timedelta(days=1)
    result = RollupResult()
    with ctx.session_factory() as session:
        tenants = session.execute(select(Tenant.slug, Tenant.cluster_name).where(Tenant.status.in_(METERED))
                                  .order_by(Tenant.slug)).all()
        clusters = {c.name: c for c in session.scalars(select(Cluster))}
    result.tenants = len(tenants)
    if not tenants:
        return result
    slugs = [t.slug for t in tenants]

    db_usage = _database_usage(ctx, tenants, clusters, result.problems)
    requests: dict[tuple[str, date], RequestUsage] = {}
    try:
        requests, problems = cloudwatch_usage(ctx.aws.client("cloudwatch"), ctx.settings.cloudwatch_namespace,
                                              ctx.settings.cloudwatch_tenant_dimension, slugs,
                                              days=[yesterday, today], now=now)
        result.problems += problems
    except ControlPlaneError as exc:
        result.problems.append(f"CloudWatch unavailable, request figures not updated ({exc})")

    unknown = RequestUsage()
    rows_today, rows_yesterday = [], []
    for slug in slugs:
        db = db_usage.get(slug)
        for day, bucket in ((today, rows_today), (yesterday, rows_yesterday)):
            req = requests.get((slug, day), unknown)
            if db is None and req is unknown:
                continue
            bucket.append({
                "slug": slug, "day": day,
                "storage_bytes": db.storage_bytes if db else None, "row_estimate": db.row_estimate if db else None,
                "connections": db.connections if db else None,
                "requests": req.requests, "errors": req.errors, "p95": req.p95_latency_ms,
            })
    with ctx.session_factory() as session:
        if rows_yesterday:
            session.execute(_UPSERT_YESTERDAY, rows_yesterday)
        if rows_today:
            session.execute(_UPSERT_TODAY, rows_today)
        session.commit()
    result.rows_written = len(rows_today) + len(rows_yesterday)
    return result


def _database_usage(ctx: AppContext, tenants, clusters: dict[str, Cluster],
                    problems: list[str]) -> dict[str, DatabaseUsage]:
    by_cluster: dict[str, list[str]] = {}
    for slug, cluster_name in tenants:
        by_cluster.setdefault(cluster_name, []).append(slug)
    found: dict[str, DatabaseUsage] = {}
    for name, slugs in by_cluster.items():
        cluster = clusters.get(name)
        try:
            with ctx.clusters.connect(cluster.url_env if cluster else None, autocommit=True) as conn:
                found.update(database_usage(conn, slugs))
        except (ControlPlaneError, Exception) as exc:
            problems.append(f"cluster {name}: storage not measured ({str(exc).splitlines()[0][:200]})")
    return found

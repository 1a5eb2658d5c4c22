"""Where usage figures come from: PostgreSQL (storage, row estimates, connections) per cluster,
and CloudWatch (requests, errors, p95 latency) per tenant."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from control_plane.aws import cloudwatch
from control_plane.aws.cloudwatch import MetricQuery
from control_plane.domain.slugs import schema_name

# Row estimates: the planner's (kept current by autovacuum's analyse), else, for a table never
# analysed (reltuples -1), the statistics collector's live-tuple count, which can double-count rows
# inserted and analysed by the same backend. Sizes include indexes and TOAST.
_STORAGE_SQL = """
SELECT n.nspname,
       COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint,
       COALESCE(sum(CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE COALESCE(s.n_live_tup, 0) END), 0)::bigint
  FROM pg_namespace n
  LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm')
  LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
 WHERE n.nspname = ANY(%s)
 GROUP BY n.nspname
"""
# A backend belongs to a tenant when it logs in as the tenant's role or names itself after it
# (application_name `tenant_<slug>`, the data plane's convention).
_CONNECTIONS_SQL = """
SELECT COALESCE(NULLIF(application_name, ''), usename::text), usename::text
  FROM pg_stat_activity WHERE backend_type = 'client backend'
"""


@dataclass(frozen=True)
class DatabaseUsage:
    storage_bytes: int
    row_estimate: int
    connections: int


def database_usage(conn: psycopg.Connection, slugs: list[str]) -> dict[str, DatabaseUsage]:
    schemas = [schema_name(s) for s in slugs]
    sizes = {row[0]: (int(row[1]), int(row[2])) for row in conn.execute(_STORAGE_SQL, (schemas,))}
    wanted = set(schemas)
    connections: Counter[str] = Counter()
    for app_name, user in conn.execute(_CONNECTIONS_SQL):
        if user in wanted:
            connections[user] += 1
        elif app_name in wanted:
            connections[app_name] += 1
    result = {}
    for slug, schema in zip(slugs, schemas, strict=True):
        if schema in sizes:
            result[slug] = DatabaseUsage(sizes[schema][0], sizes[schema][1], connections.get(schema, 0))
    return result


@dataclass(frozen=True)
class RequestUsage:
    requests: int | None = None
    errors: int | None = None
    p95_latency_ms: float | None = None


def cloudwatch_usage(client: Any, namespace: str, dimension: str, slugs: list[str], *, days: list[date],
                     now: datetime) -> tuple[dict[tuple[str, date], RequestUsage], list[str]]:
    """Daily Sum of Requests and Errors and p95 of Latency per tenant for `days` (UTC), and the
    problems met. Percentiles are asked for separately: a backend that cannot compute them (moto)
    must not cost us the request counts."""
    start = datetime.combine(min(days), datetime.min.time(), tzinfo=now.tzinfo)
    end = min(datetime.combine(max(days) + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo),
              now.replace(second=0, microsecond=0) + timedelta(minutes=1))
    counts: list[MetricQuery] = []
    latency: list[MetricQuery] = []
    for slug in slugs:
        dims = ((dimension, slug),)
        counts.append(MetricQuery(f"{slug}|requests", namespace, "Requests", dims, "Sum", 86400))
        counts.append(MetricQuery(f"{slug}|errors", namespace, "Errors", dims, "Sum", 86400))
        latency.append(MetricQuery(f"{slug}|p95", namespace, "Latency", dims, "p95", 86400))
    found = cloudwatch.fetch(client, counts, start, end)
    problems: list[str] = []
    try:
        found.update(cloudwatch.fetch(client, latency, start, end))
    except Exception as exc:
        problems.append(f"p95 latency unavailable ({str(exc).splitlines()[0][:160]})")
    result: dict[tuple[str, date], RequestUsage] = {}
    for slug in slugs:
        per_day: dict[date, dict[str, float]] = {}
        for metric in ("requests", "errors", "p95"):
            for ts, value in found.get(f"{slug}|{metric}", []):
                per_day.setdefault(ts.astimezone(now.tzinfo).date(), {})[metric] = value
        for day in days:
            values = per_day.get(day, {})
            result[(slug, day)] = RequestUsage(
                requests=round(values.get("requests", 0)), errors=round(values.get("errors", 0)),
                p95_latency_ms=values.get("p95"))
    return result, problems

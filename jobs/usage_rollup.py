"""Job `usage_rollup` (hourly): per-tenant storage, rows and connections from PostgreSQL and
requests, errors and p95 latency from CloudWatch into control_plane.usage_daily."""

from __future__ import annotations

from control_plane.scheduler.context import JobContext
from control_plane.usage.rollup import rollup_usage


def run(context: JobContext) -> str:
    return rollup_usage(context.app, context.now()).summary()

"""The health sweep: probe every active tenant's schema and endpoint and every platform target,
store the results, update incidents, raise alerts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from control_plane.context import AppContext
from control_plane.core import alerts
from control_plane.db.models import Cluster, Tenant
from control_plane.errors import ControlPlaneError
from control_plane.uptime import burn, incidents, probes, targets
from control_plane.uptime.raw import CheckRow
from control_plane.uptime.store import insert_checks

log = logging.getLogger(__name__)
SCHEMA_POOL_SIZE = 8  # probes of a cluster's schemas at once (each probe takes ~1 ms)
LOGIN_POOL_SIZE = 2  # connections per data-plane login (16 logins per cluster share the probes)


@dataclass(frozen=True)
class TenantTarget:
    slug: str
    cluster: str
    url_env: str | None
    endpoint_url: str | None


@dataclass
class SweepResult:
    checks: int = 0
    failed: int = 0
    opened: int = 0
    resolved: int = 0
    alerts: int = 0
    seconds: float = 0.0
    failed_targets: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.checks} checks in {self.seconds:.1f}s: {self.checks - self.failed} ok, {self.failed} failed; "
                f"incidents opened {self.opened}, resolved {self.resolved}; alerts {self.alerts}")
        if self.failed_targets:
            more = len(self.failed_targets) - 5
            text += f"; down: {', '.join(self.failed_targets[:5])}" + (f" (+{more} more)" if more > 0 else "")
        return text


def load_targets(ctx: AppContext) -> tuple[list[TenantTarget], list[Cluster]]:
    with ctx.session_factory() as session:
        clusters = list(session.scalars(select(Cluster).order_by(Cluster.name)))
        by_name = {c.name: c for c in clusters}
        rows = session.execute(select(Tenant.slug, Tenant.cluster_name, Tenant.endpoint_url)
                               .where(Tenant.status == "active").order_by(Tenant.slug)).all()
        session.expunge_all()
    tenants = [TenantTarget(slug, cluster, by_name[cluster].url_env if cluster in by_name else None, endpoint)
               for slug, cluster, endpoint in rows]
    return tenants, clusters


def probe_all(ctx: AppContext, tenants: list[TenantTarget], clusters: list[Cluster],
              now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[CheckRow]:
    settings = ctx.settings
    timeout = settings.probe_timeout_seconds
    rows: list[CheckRow] = []
    pending: list[tuple[str, str | None, str, Future[probes.Outcome]]] = []
    pools = {}
    broken_clusters: dict[str, str] = {}
    for cluster in clusters:
        try:
            pools[cluster.name] = ctx.clusters.pool(cluster.url_env, max_size=LOGIN_POOL_SIZE)
        except ControlPlaneError as exc:
            broken_clusters[cluster.name] = str(exc)

    def schema_probe(tenant: TenantTarget) -> probes.Outcome:
        try:  # the tenant's own data-plane login (docs/architecture.md "Data-plane logins")
            pool = ctx.clusters.pool(tenant.url_env, tenant.slug, max_size=LOGIN_POOL_SIZE)
        except ControlPlaneError as exc:
            return probes.Outcome(now(), False, None, str(exc))
        return probes.probe_schema(pool, tenant.slug, timeout, now)
    with ThreadPoolExecutor(SCHEMA_POOL_SIZE * max(1, len(pools)), thread_name_prefix="probe-db") as db_pool, \
            ThreadPoolExecutor(settings.probe_concurrency, thread_name_prefix="probe-http") as http_pool, \
            probes.http_client(timeout, settings.probe_concurrency) as client:
        for cluster in clusters:
            target = targets.database_target(cluster.name)
            if cluster.name in pools:
                pending.append((target, None, targets.DATABASE,
                                db_pool.submit(probes.probe_database, pools[cluster.name], timeout, now)))
            else:
                rows.append(CheckRow(target, None, targets.DATABASE, now(), False, None, broken_clusters[cluster.name]))
        for tenant in tenants:
            target = targets.schema_target(tenant.slug)
            if tenant.cluster in pools:
                pending.append((target, tenant.slug, targets.SCHEMA,
                                db_pool.submit(schema_probe, tenant)))
            else:
                error = broken_clusters.get(tenant.cluster, f"cluster {tenant.cluster!r} is not registered")
                rows.append(CheckRow(target, tenant.slug, targets.SCHEMA, now(), False, None, error))
            if tenant.endpoint_url:
                pending.append((targets.http_target(tenant.slug), tenant.slug, targets.HTTP,
                                http_pool.submit(probes.probe_http, client, tenant.endpoint_url, timeout, now,
                                                 allow=settings.probe_allow_networks)))
        rows.extend(_aurora_rows(ctx, clusters, now))
        for target, slug, kind, future in pending:
            outcome = future.result()
            rows.append(CheckRow(target, slug, kind, outcome.checked_at, outcome.ok, outcome.latency_ms, outcome.error))
    return rows


def _aurora_rows(ctx: AppContext, clusters: list[Cluster], now: Callable[[], datetime]) -> list[CheckRow]:
    ids = {c.aurora_cluster_id: c.name for c in clusters if c.aurora_cluster_id}
    if not ids:
        return []
    started, t0 = now(), time.perf_counter()
    statuses = probes.aurora_statuses(ctx.aws.aurora(), sorted(ids))
    latency = round((time.perf_counter() - t0) * 1000, 2)
    rows = []
    for cid, name in sorted(ids.items()):
        target = targets.aurora_target(name)
        if isinstance(statuses, str):
            rows.append(CheckRow(target, None, targets.AURORA, started, False, None, statuses))
        elif cid not in statuses:
            rows.append(CheckRow(target, None, targets.AURORA, started, False, latency,
                                 f"Aurora cluster {cid!r} not found in this account and region"))
        else:
            status = statuses[cid]
            ok = status == "available"
            rows.append(CheckRow(target, None, targets.AURORA, started, ok, latency,
                                 None if ok else f"Aurora cluster {cid!r} status is {status!r}"))
    return rows


def record(ctx: AppContext, rows: list[CheckRow], now: datetime) -> SweepResult:
    """Store one sweep's results, update incidents and burn-rate alerts in one transaction, then
    publish the new alerts."""
    result = SweepResult(checks=len(rows), failed=sum(not r.ok for r in rows),
                         failed_targets=sorted(r.target for r in rows if not r.ok))
    with ctx.session_factory() as session:
        insert_checks(session, rows)
        changes = incidents.apply_checks(session, rows, ctx.settings.incident_threshold)
        new_alerts = list(changes.alerts or [])
        new_alerts += burn.evaluate(session, now, ctx.settings.slo_target)
        stored = alerts.add(session, new_alerts)
        session.commit()
        alert_ids = [a.id for a in stored]
    result.opened, result.resolved, result.alerts = changes.opened, changes.resolved, len(alert_ids)
    alerts.publish(ctx, alert_ids)
    return result


def run_sweep(ctx: AppContext, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> SweepResult:
    t0 = time.perf_counter()
    tenants, clusters = load_targets(ctx)
    rows = probe_all(ctx, tenants, clusters, now)
    result = record(ctx, rows, now())
    result.seconds = time.perf_counter() - t0
    return result

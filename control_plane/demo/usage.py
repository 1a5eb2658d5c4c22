"""Demo daily usage history (AWS area): months of per-tenant usage written with one COPY, two noisy
neighbours whose requests jump today, the matching request metrics in the simulated CloudWatch, and
a first noisy-neighbour pass so the flags show on first start.

Storage history ends at each schema's real size, so the hourly rollup (which measures the real
schemas) continues the curves instead of cutting them off."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy import select

from control_plane.context import AppContext
from control_plane.core.tenant_view import TenantView
from control_plane.db.models import Cluster, UsageDaily
from control_plane.domain.slugs import schema_name
from control_plane.usage.sources import database_usage

# Requests per day, by plan, for a typical tenant (log-normal spread around it).
PLAN_REQUESTS = {"free": 400, "starter": 4_000, "team": 20_000, "business": 90_000, "enterprise": 400_000}
# Tasks in a typical tenant's own tables, by plan (log-normal spread around it): under 100 KiB to several MiB.
PLAN_TASKS = {"free": 150, "starter": 400, "team": 1_200, "business": 3_000, "enterprise": 8_000}
_FILL = (  # one statement each: parameters cannot go with several statements
    "INSERT INTO {s}.users (email, full_name) SELECT 'user' || g || '@example.com', 'Demo user ' || g "
    "FROM pg_catalog.generate_series(1, %(users)s) AS g",
    "INSERT INTO {s}.teams (name) VALUES ('Everyone')",
    "INSERT INTO {s}.projects (team_id, name) SELECT (SELECT pg_catalog.min(id) FROM {s}.teams), 'Project ' || g "
    "FROM pg_catalog.generate_series(1, %(projects)s) AS g",
    "INSERT INTO {s}.tasks (project_id, assignee_id, title, status) "
    "SELECT (SELECT pg_catalog.min(id) FROM {s}.projects), (SELECT pg_catalog.min(id) FROM {s}.users), "
    "'Task ' || g || ': ' || pg_catalog.md5(g::text), (ARRAY['open', 'in_progress', 'done'])[1 + g %% 3] "
    "FROM pg_catalog.generate_series(1, %(tasks)s) AS g",
)
COLUMNS = ("tenant_slug", "day", "storage_bytes", "row_estimate", "connections", "requests", "errors",
           "p95_latency_ms")


def seed(ctx: AppContext, tenants: list[TenantView], months: int, rng: random.Random,
         now: datetime | None = None) -> None:
    """Idempotent enough for demo use: tenants that already have usage rows are left alone.
    `now` (default: the clock) fixes "today", so the same seed gives the same history on any day."""
    now = now or datetime.now(UTC)
    today = now.date()
    with ctx.session_factory() as session:
        done = set(session.scalars(select(UsageDaily.tenant_slug).distinct()))
    todo = [t for t in tenants if t.slug not in done]
    if not todo:
        return
    eligible = [t for t in todo if t.plan not in ("free",) and t.status == "active"]
    noisy = {t.slug for t in rng.sample(eligible, min(2, len(eligible)))}
    sizes = {}
    for url_env, members in _by_cluster(ctx, todo).items():  # each cluster's own database, never the catalog's
        _fill_schemas(ctx, url_env, members, rng)
        with ctx.clusters.connect(url_env, autocommit=True) as conn:
            sizes.update(database_usage(conn, [t.slug for t in members]))
    total_days = max(1, months * 30)
    rows, recent = [], []
    for tenant in todo:
        size = sizes.get(tenant.slug)
        history = list(_history(tenant, today, total_days, noisy=tenant.slug in noisy,
                                storage_now=size.storage_bytes if size else 0, rng=rng))
        rows += history
        recent += [(tenant.slug, datetime.combine(r[1], datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
                    if r[1] < today else now - timedelta(minutes=2), r[5], r[6], r[7])
                   for r in history if r[1] >= today - timedelta(days=1)]
    with psycopg.connect(ctx.clusters.catalog_url) as conn:
        statement = f"COPY control_plane.usage_daily ({', '.join(COLUMNS)}) FROM STDIN"
        with conn.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()

    from control_plane.demo.aws import publish_tenant_metrics
    from control_plane.usage.noisy import detect_noisy_neighbours

    try:
        publish_tenant_metrics(ctx, recent)
    except Exception:  # noqa: S110 - the simulated metrics are a nicety; the history is already in
        pass
    detect_noisy_neighbours(ctx, now)


def _by_cluster(ctx: AppContext, tenants: list[TenantView]) -> dict[str | None, list[TenantView]]:
    """The tenants by their cluster's URL variable (None: the default cluster), in the given order."""
    with ctx.session_factory() as session:
        envs = dict(session.execute(select(Cluster.name, Cluster.url_env)).all())
    grouped: dict[str | None, list[TenantView]] = {}
    for tenant in tenants:
        grouped.setdefault(envs.get(tenant.cluster), []).append(tenant)
    return grouped


def _fill_schemas(ctx: AppContext, url_env: str | None, tenants: list[TenantView], rng: random.Random) -> None:
    """Rows in each demo tenant's own tables (users, a team, projects, tasks), more for bigger
    plans, so storage differs by tenant as real usage would; a schema that already has tasks
    (an earlier run) is left as it is. On the tenants' cluster, with the catalog's credentials."""
    with ctx.clusters.connect(url_env) as conn:
        for tenant in tenants:
            s = sql.Identifier(schema_name(tenant.slug))
            if conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {s}.tasks)").format(s=s)).fetchone()[0]:
                continue
            tasks = max(60, int(PLAN_TASKS.get(tenant.plan, 400) * rng.lognormvariate(0, 0.8)))
            users = max(1, tasks // 25)
            params = {"users": users, "projects": max(1, tasks // 150), "tasks": tasks}
            for statement in _FILL:
                conn.execute(sql.SQL(statement).format(s=s), params if "%(" in statement else None)
        conn.commit()


def _history(tenant: TenantView, today: date, total_days: int, *, noisy: bool, storage_now: int,
             rng: random.Random):
    base = PLAN_REQUESTS.get(tenant.plan, 5_000) * rng.lognormvariate(0, 0.5)
    age = rng.randint(min(30, total_days), total_days)  # tenants signed up at different times
    growth = rng.uniform(-0.2, 1.5)  # over the whole period
    latency = rng.uniform(35, 140)
    suspended = tenant.status == "suspended"
    for back in range(age - 1, -1, -1):
        day = today - timedelta(days=back)
        progress = 1 - back / max(age, 1)
        # The noisy neighbour's spike day is taken at weekday volume: a weekend dip there would keep
        # a 14x jump under the 10x-over-baseline rule (docs/scaling.md "Noisy neighbours").
        spike = back == 0 and noisy
        weekly = 0.55 if day.weekday() >= 5 and not spike else 1.0
        requests = base * (1 + growth * progress) * weekly * rng.uniform(0.85, 1.15)
        if suspended and back < 10:
            requests = 0.0
        size = storage_now * (0.6 + 0.4 * progress) * (1 + 0.005 * math.sin(back)) if back else storage_now
        if spike:
            requests *= rng.uniform(14, 22)
        errors = requests * rng.uniform(0.001, 0.012)
        p95 = latency * rng.uniform(0.85, 1.25) if requests else None
        yield (tenant.slug, day, int(size), 0, rng.randint(0, 12) if requests else 0,
               int(requests), int(errors), None if p95 is None else round(p95, 2))

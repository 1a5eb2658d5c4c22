"""Every cached read of the screens, one place for their lifetimes and spinners (ui/cache.py says
how the keys are made). Each calls one control_plane read model; the services check permissions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.moves import service as move_service
from control_plane.revenue import period as revenue_period
from control_plane.revenue import reports
from control_plane.revenue import summary as revenue_summary
from control_plane.scaling import queries as scaling_queries
from control_plane.scheduler import service as job_service
from control_plane.services import cluster_load as cluster_load_service
from control_plane.services import cluster_posture
from control_plane.services import tenants as tenant_service
from control_plane.uptime import inbox as uptime_inbox
from control_plane.uptime import summary as uptime_summary
from control_plane.uptime import views as uptime_views
from control_plane.usage import queries as usage_queries
from ui.cache import cached

HEADLINE_TTL = 30  # seconds: headline figures may lag a little; actions on the Tenants page never do
UPTIME_TTL = 30  # seconds: the health sweep runs every minute
USAGE_TTL = 300  # the usage roll-up runs hourly
REVENUE_TTL = 300  # plus the ledger version in the key: an import shows at once

# --- Overview (a figure that cannot be computed is None: the detailed page says why) ----------


@cached(ttl=HEADLINE_TTL, spinner="Counting tenants…")
def tenant_counts(ctx: AppContext, actor: Actor) -> list[tuple[str, str, int]]:
    return tenant_service.tenant_counts(ctx, actor)


@cached(ttl=HEADLINE_TTL, spinner="Computing MRR…")
def revenue_headline(ctx: AppContext, actor: Actor, today: date) -> revenue_summary.Headline | None:
    """This month to date (today in the key: a new day is a new answer)."""
    try:
        return revenue_summary.headline(ctx, actor, today=today)
    except ControlPlaneError:
        return None


@cached(ttl=HEADLINE_TTL, spinner="Computing uptime…")
def uptime_headline(ctx: AppContext, actor: Actor) -> dict[str, Any] | None:
    try:
        return uptime_summary.headline(ctx, actor)
    except ControlPlaneError:
        return None


# --- Uptime ------------------------------------------------------------------------------------


@cached(ttl=UPTIME_TTL, spinner="Computing uptime over 24 h, 7 d and 30 d…")
def uptime_table(ctx: AppContext, actor: Actor) -> pd.DataFrame:
    return uptime_views.uptime_table(ctx, actor)


@cached(ttl=UPTIME_TTL, spinner="Computing fleet uptime…")
def fleet(ctx: AppContext, actor: Actor) -> dict[str, Any]:
    return uptime_views.fleet(ctx, actor)


@cached(ttl=UPTIME_TTL, spinner="Computing p95 latency…")
def latency(ctx: AppContext, actor: Actor, hours: int) -> pd.DataFrame:
    return uptime_views.latency_table(ctx, actor, hours=hours)


@cached(ttl=HEADLINE_TTL, spinner="Looking up tenant names…")
def tenant_names(ctx: AppContext, actor: Actor, slugs: tuple[str, ...]) -> dict[str, str]:
    return tenant_service.names_of(ctx, actor, list(slugs))


@cached(ttl=UPTIME_TTL, spinner="Listing checked targets…")
def targets(ctx: AppContext, actor: Actor) -> list[str]:
    return uptime_views.target_names(ctx, actor)


@cached(ttl=UPTIME_TTL, spinner="Building the SLA report…")
def sla(ctx: AppContext, actor: Actor, slug: str, months: int) -> pd.DataFrame:
    return uptime_views.sla_report(ctx, actor, slug, months)


@cached(ttl=UPTIME_TTL, spinner="Reading what is wrong now…")
def inbox(ctx: AppContext, actor: Actor) -> uptime_inbox.Inbox:
    return uptime_inbox.build(ctx, actor, ctx.clock())


def clear_uptime() -> None:
    """After a maintenance window changed or on-call handled an item: every count that leaves
    windows out, and the inbox, is stale."""
    for read in (uptime_table, fleet, latency, sla, uptime_headline, inbox):
        read.clear()


# --- Jobs --------------------------------------------------------------------------------------


@cached(ttl=10, spinner="Reading the job registry…")
def job_table(ctx: AppContext, actor: Actor) -> pd.DataFrame:
    return job_service.job_table(ctx, actor)


# --- Scaling -----------------------------------------------------------------------------------


@cached(ttl=60, spinner="Reading the Aurora clusters…")
def scaled_clusters(ctx: AppContext, actor: Actor) -> list[dict[str, Any]]:
    return scaling_queries.scaled_clusters(ctx, actor)


@cached(ttl=60, spinner="Reading CloudWatch…")
def capacity_history(ctx: AppContext, actor: Actor, cluster: str, hours: int) -> pd.DataFrame:
    return scaling_queries.capacity_history(ctx, actor, cluster, hours)


# --- Usage -------------------------------------------------------------------------------------


@cached(ttl=USAGE_TTL, spinner="Reading noisy-neighbour flags…")
def noisy_flags(ctx: AppContext, actor: Actor, include_cleared: bool) -> pd.DataFrame:
    return usage_queries.noisy_flags(ctx, actor, include_cleared=include_cleared)


@cached(ttl=USAGE_TTL, spinner="Ranking tenants…")
def top_consumers(ctx: AppContext, actor: Actor, metric: str, days: int, today: date) -> pd.DataFrame:
    return usage_queries.top_consumers(ctx, actor, metric=metric, days=days, limit=50, today=today)


@cached(ttl=USAGE_TTL, spinner="Reading the tenant's daily usage…")
def tenant_daily_usage(ctx: AppContext, actor: Actor, slug: str, days: int, today: date) -> pd.DataFrame:
    return usage_queries.tenant_daily_usage(ctx, actor, slug, days, today=today)


# --- Revenue -----------------------------------------------------------------------------------


def revenue_today(ctx: AppContext) -> date:
    """Today (UTC) as the revenue figures see it: by the context's clock (a test may set it)."""
    return revenue_period.today_of(ctx)


def ledger_key(ctx: AppContext) -> tuple[date, tuple[int, str]]:
    """(today, ledger version): part of every revenue key, so an import or a new day is seen at
    once rather than after the TTL. Cheap: one catalog query. Reads take today from it."""
    return revenue_today(ctx), reports.ledger_version(ctx)


@cached(ttl=REVENUE_TTL, spinner="Reading the subscription ledger…", max_entries=16)
def ledger_span(ctx: AppContext, actor: Actor, ledger: tuple) -> reports.LedgerSpan:
    return reports.ledger_span(ctx, actor, today=ledger[0])


@cached(ttl=REVENUE_TTL, spinner="Computing revenue…", max_entries=64)
def revenue_dashboard(ctx: AppContext, actor: Actor, ledger: tuple, start: str | None, end: str | None, *,
                      plans: tuple[str, ...]) -> reports.Dashboard:
    return reports.dashboard(ctx, actor, start, end, plans, today=ledger[0])


@cached(ttl=REVENUE_TTL, spinner="Comparing with a month and a year before…", max_entries=64)
def revenue_figures(ctx: AppContext, actor: Actor, ledger: tuple, month: str, *,
                    plans: tuple[str, ...]) -> revenue_summary.Headline:
    """The Revenue page's tiles for `month` (month-to-date when it is today's), filtered by plan
    on the server: the plans are in the key."""
    return revenue_summary.headline(ctx, actor, today=ledger[0], month=month, plans=plans)


# --- Clusters and moves --------------------------------------------------------------------------


@cached(ttl=60, spinner="Adding up tenants and load per cluster…")
def cluster_load(ctx: AppContext, actor: Actor) -> pd.DataFrame:
    return cluster_load_service.cluster_load_frame(ctx, actor)


@cached(ttl=30, spinner="Checking both clusters for an online move…")
def move_readiness(ctx: AppContext, actor: Actor, slug: str, target: str) -> move_service.Readiness:
    return move_service.readiness(ctx, actor, slug, target)


def clear_clusters() -> None:
    """After a move started or ended: tenants per cluster and the readiness changed."""
    cluster_load.clear()
    move_readiness.clear()


@cached(ttl=60, spinner="Checking every cluster's posture…")
def cluster_posture_reports(ctx: AppContext, actor: Actor) -> list[dict[str, Any]]:
    """`clusters check` for every cluster, as plain dicts: {"cluster", "report" | None, "problem"}."""
    return [{"cluster": name, "report": report.as_dict() if report else None, "problem": problem}
            for name, report, problem in cluster_posture.check_all(ctx, actor)]

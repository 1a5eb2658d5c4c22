"""Usage rollup: storage, rows and connections from PostgreSQL, requests and errors from
CloudWatch (moto server), idempotent, and a CloudWatch outage never zeroes request figures."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import psycopg
from botocore.exceptions import ClientError
from sqlalchemy import select

from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.aws import cloudwatch
from control_plane.db.models import UsageDaily
from control_plane.scheduler.context import JobContext
from control_plane.usage.queries import tenant_daily_usage
from control_plane.usage.rollup import rollup_usage
from jobs import usage_rollup
from tests import moto_server
from tests.factories import make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


def fill(ctx, slug: str, users: int) -> None:
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        with tenant_transaction(conn, slug) as c:
            c.execute("INSERT INTO users (email, full_name) SELECT 'u' || g || '@x.io', 'User ' || g "
                      "FROM generate_series(1, %s) g", (users,))
        conn.execute(f'ANALYZE "tenant_{slug}".users')


def requests_metric(aws, slug: str, points: list[tuple[datetime, float]], metric: str = "Requests") -> None:
    cloudwatch.put_series(aws.client("cloudwatch"), "SaaS/Tenants", metric, {"TenantId": slug}, points, unit="Count")


def usage_rows(ctx, slug: str) -> dict:
    with ctx.session_factory() as session:
        return {r.day: r for r in session.scalars(select(UsageDaily).where(UsageDaily.tenant_slug == slug))}


def test_rollup_from_postgresql_and_cloudwatch(ctx, aws, admin, new_slug):
    big, small = new_slug("big"), new_slug("small")
    make_tenant(ctx, big)
    make_tenant(ctx, small)
    fill(ctx, big, 2500)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    midnight = now.replace(hour=0, minute=0)
    today, yesterday = now.date(), now.date() - timedelta(days=1)
    requests_metric(aws, big, [(midnight - timedelta(hours=3), 700), (midnight - timedelta(hours=1), 300)])
    requests_metric(aws, big, [(midnight + timedelta(seconds=1), 40), (now - timedelta(minutes=1), 2)])
    requests_metric(aws, big, [(now - timedelta(minutes=1), 5)], metric="Errors")
    with psycopg.connect(libpq_url(ctx.catalog_url), application_name=f"tenant_{big}"):
        summary = usage_rollup.run(JobContext(app=ctx, now=lambda: now))

    assert "2 tenants" in summary
    rows = usage_rows(ctx, big)
    assert (rows[today].requests, rows[today].errors) == (42, 5)
    assert rows[yesterday].requests == 1000
    assert rows[today].row_estimate == 2500
    assert rows[today].connections >= 1
    assert rows[today].storage_bytes > usage_rows(ctx, small)[today].storage_bytes > 0
    assert usage_rows(ctx, small)[today].requests == 0

    # running again changes nothing (no double counting)
    rollup_usage(ctx, now)
    again = usage_rows(ctx, big)
    assert (again[today].requests, again[yesterday].requests, again[today].row_estimate) == (42, 1000, 2500)

    frame = tenant_daily_usage(ctx, admin, big, days=7)
    assert list(frame["requests"]) == [1000, 42]


class DeniedCloudWatch:
    def get_metric_data(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetMetricData")


def test_cloudwatch_outage_keeps_request_figures(ctx, aws, new_slug, monkeypatch):
    slug = new_slug("cw")
    make_tenant(ctx, slug)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    requests_metric(aws, slug, [(now - timedelta(minutes=2), 77)])
    rollup_usage(ctx, now)
    assert usage_rows(ctx, slug)[now.date()].requests == 77

    fill(ctx, slug, 300)
    real = aws.client
    monkeypatch.setattr(aws, "client", lambda name: DeniedCloudWatch() if name == "cloudwatch" else real(name))
    result = rollup_usage(ctx, now)

    assert any("CloudWatch unavailable" in p and "denied" in p for p in result.problems)
    row = usage_rows(ctx, slug)[now.date()]
    assert row.requests == 77  # untouched
    assert row.row_estimate == 300  # PostgreSQL figures still updated


def test_only_live_tenants_are_metered(ctx, aws, admin, new_slug):
    from control_plane.services import tenants

    slug = new_slug("susp")
    make_tenant(ctx, slug)
    tenants.suspend(ctx, admin, slug, "unpaid")
    now = datetime.now(UTC)
    other = dataclasses.replace(ctx)
    result = rollup_usage(other, now)
    assert result.tenants == 1 and now.date() in usage_rows(ctx, slug)

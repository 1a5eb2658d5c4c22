"""Demo mode's simulated AWS and usage history: the screens have data out of the box, the capacity
job finds the demo cluster busy and scales it, and two noisy neighbours are flagged."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from control_plane.db.models import Cluster, UsageDaily
from control_plane.demo import usage
from control_plane.demo.aws import DEMO_AURORA_ID, start_simulated_aws
from control_plane.scaling.queries import capacity_history, scaled_clusters
from control_plane.scheduler.context import JobContext
from control_plane.services.tenants import list_tenants
from control_plane.usage.queries import noisy_flags
from jobs import aurora_capacity, usage_rollup
from tests.factories import make_tenant


@pytest.fixture
def demo_ctx(ctx):
    saved = ctx.aws, ctx.settings
    yield ctx
    with ctx.session_factory() as session:
        session.execute(update(Cluster).where(Cluster.name == "default").values(aurora_cluster_id=None))
        session.commit()
    ctx.aws, ctx.settings = saved
    ctx.simulated_aws = None


def test_simulated_aws_and_demo_usage(demo_ctx, admin, new_slug):
    ctx = demo_ctx
    url = start_simulated_aws(ctx)
    assert url.startswith("http://127.0.0.1:") and start_simulated_aws(ctx) == url  # once per process
    assert ctx.aws.endpoint_url == url and ctx.settings.sns_topic_arn
    for i in range(12):
        make_tenant(ctx, new_slug("demo"), plan=("team", "business", "starter")[i % 3])

    usage.seed(ctx, list_tenants(ctx, admin), 3, random.Random(3), now=datetime.now(UTC))

    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(UsageDaily)) > 12 * 30
    assert len(noisy_flags(ctx, admin)) == 2
    [cluster] = scaled_clusters(ctx, admin)
    assert cluster["aurora_cluster_id"] == DEMO_AURORA_ID and cluster["problem"] is None
    assert len(capacity_history(ctx, admin, "default", 24)) > 200
    assert "scale_up/applied" in aurora_capacity.run(JobContext(app=ctx))
    assert usage_rollup.run(JobContext(app=ctx)).startswith("12 tenants, 24 daily rows")


# A Saturday, a Sunday, a month end that is a Saturday, a leap day, a DST change in the US and in
# Europe: the demo's noisy neighbours must be flagged whatever day the demo is seeded on.
@pytest.mark.parametrize("now", [
    datetime(2026, 11, 28, 9, 30, tzinfo=UTC), datetime(2026, 11, 29, 23, 59, tzinfo=UTC),
    datetime(2026, 10, 31, 12, 0, tzinfo=UTC), datetime(2024, 2, 29, 0, 5, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
], ids=["saturday", "sunday", "month-end-saturday", "leap-day", "us-dst", "eu-dst", "monday"])
def test_demo_noisy_neighbours_on_any_day(demo_ctx, admin, new_slug, now):
    ctx = demo_ctx
    start_simulated_aws(ctx)  # the seeder also publishes request metrics: keep them on loopback
    for i in range(12):
        make_tenant(ctx, new_slug("demo"), plan=("team", "business", "starter")[i % 3])

    usage.seed(ctx, list_tenants(ctx, admin), 3, random.Random(3), now=now)

    flags = noisy_flags(ctx, admin)
    assert len(flags) == 2, flags

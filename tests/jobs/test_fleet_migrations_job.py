"""The worker drives queued runs a step at a time: a soak never holds the job."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from control_plane.fleet import service
from control_plane.fleet.options import Options
from control_plane.scheduler import registry
from control_plane.scheduler.context import JobContext
from jobs import fleet_migrations
from tests.factories import OPERATOR, make_tenant


def test_a_queued_run_is_driven_by_the_worker_across_its_soak(ctx, new_slug):
    slugs = [new_slug("w") for _ in range(4)]
    for slug in slugs:
        make_tenant(ctx, slug, template_version=2)
    started = service.start(ctx, OPERATOR, Options(waves=(25, 100), soak_seconds=600), queue=True)
    assert registry.get("fleet_migrations").load() is fleet_migrations.run
    now = datetime.now(UTC)
    summary = fleet_migrations.run(JobContext(app=ctx, now=lambda: now))
    assert "soaking until" in summary  # the canary is done; the job returned instead of waiting
    assert service.status(ctx, OPERATOR, started.run_id).progress["1"] == {"applied": 1}
    ticks = itertools.count(1)  # the next ticks come after the soak is over
    summary = fleet_migrations.run(JobContext(app=ctx, now=lambda: now + timedelta(minutes=11 * next(ticks))))
    assert f"run {started.run_id}: completed" in summary
    assert fleet_migrations.run(JobContext(app=ctx)) == "no queued migration run"


def test_a_run_not_queued_is_left_to_its_foreground_driver(ctx, new_slug):
    make_tenant(ctx, new_slug("w"), template_version=2)
    started = service.start(ctx, OPERATOR, Options(soak_seconds=0))
    assert fleet_migrations.run(JobContext(app=ctx)) == "no queued migration run"
    assert service.status(ctx, OPERATOR, started.run_id).status == "planned"

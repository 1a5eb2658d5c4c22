"""Tenants and load per cluster (control_plane/services/cluster_load.py) on a real catalog with a
second real cluster: counts by status, each live tenant's latest usage roll-up summed, requests
over 7 days, capacity, open noisy flags and running moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from control_plane.archive import service as archive_service
from control_plane.db.models import Cluster, NoisyNeighbourFlag, UsageDaily
from control_plane.moves import service as moves
from control_plane.moves.service import MoveOptions
from control_plane.services import tenants
from control_plane.services.cluster_load import COLUMNS, cluster_load_frame
from tests import moto_server
from tests.factories import OPERATOR, make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures: the archive goes to moto's S3

TODAY = date(2026, 3, 31)  # a month end on purpose: nothing here depends on the real date


def _usage(ctx, slug, back, *, storage, rows, requests=0):
    with ctx.session_factory() as s:
        s.add(UsageDaily(tenant_slug=slug, day=TODAY - timedelta(days=back), storage_bytes=storage,
                         row_estimate=rows, requests=requests))
        s.commit()


def test_tenants_storage_capacity_noise_and_moves_per_cluster(ctx, aws, admin, cluster_b, new_slug):
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    a1, a2, sus, gone = (new_slug("ld") for _ in range(4))
    on_b = new_slug("ldb")
    for slug in (a1, a2, sus, gone):
        make_tenant(ctx, slug)
    tenants.provision(ctx, OPERATOR, on_b, "On B", "team", cluster="b")
    tenants.suspend(ctx, admin, sus, "unpaid")
    archive_service.archive_tenant(ctx, admin, gone)
    with ctx.session_factory() as s:
        s.get(Cluster, "b").acu_ceiling = 16
        s.commit()
    _usage(ctx, a1, 3, storage=100, rows=10, requests=1_000)  # older: replaced by the next row
    _usage(ctx, a1, 1, storage=1_000, rows=50, requests=2_000)
    _usage(ctx, a1, 9, storage=99_999, rows=99_999, requests=77_777)  # outside the 7 days, not the latest
    _usage(ctx, a1, -1, storage=5_000_000, rows=1, requests=9)  # after `today`: not seen
    _usage(ctx, sus, 0, storage=500, rows=5)
    _usage(ctx, gone, 0, storage=10**9, rows=10**6, requests=10**6)  # archived: not on any cluster
    _usage(ctx, on_b, 2, storage=7, rows=3, requests=40)
    with ctx.session_factory() as s:
        s.add(NoisyNeighbourFlag(tenant_slug=a2, metric="requests", value=10, baseline=1, factor=10,
                                 recommendation="move it"))
        s.add(NoisyNeighbourFlag(tenant_slug=a1, metric="requests", value=10, baseline=1, factor=10,
                                 recommendation="over", cleared_at=datetime(2026, 3, 30, tzinfo=UTC)))
        s.commit()
    move = moves.request(ctx, admin, a2, "b", MoveOptions())  # recorded, not driven: running

    frame = cluster_load_frame(ctx, admin, today=TODAY)

    assert list(frame.columns) == COLUMNS
    assert list(frame["cluster"]) == ["default", "b"]
    default, b = (frame.set_index("cluster").loc[n] for n in ("default", "b"))
    assert (default["tenants"], default["active"], default["suspended"], default["other_live"]) == (3, 2, 1, 0)
    assert (default["storage_bytes"], default["rows"], default["requests_7d"]) == (1_500, 55, 3_000)
    assert default["noisy_tenants"] == [a2]
    assert (default["moves_out"], default["moves_in"]) == (1, 0)
    assert (b["tenants"], b["active"], b["storage_bytes"], b["rows"], b["requests_7d"]) == (1, 1, 7, 3, 40)
    assert (b["moves_in"], b["moves_out"], b["noisy_tenants"]) == (1, 0, [])
    assert (b["acu_floor"], b["acu_ceiling"], bool(b["accepts_tenants"])) == (0.5, 16.0, False)
    assert bool(default["accepts_tenants"])
    moves.cancel(ctx, admin, a2)
    assert moves.current(ctx, admin, move.tenant).status == "cancelled"


def test_every_reading_role_sees_it_and_an_empty_catalog_has_the_default(ctx, founder, support, oncall):
    for actor in (founder, support, oncall):
        frame = cluster_load_frame(ctx, actor, today=TODAY)
        assert list(frame["cluster"]) == ["default"]
        assert frame.iloc[0]["tenants"] == 0 and frame.iloc[0]["storage_bytes"] == 0


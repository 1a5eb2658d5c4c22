"""Aurora capacity job against moto (server mode): scale up, scale down after a quiet period,
floor and ceiling, cooldown, dry run, a missing cluster and throttling never stopping the rest."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from control_plane.aws import cloudwatch
from control_plane.db.models import AuditEntry, ScalingDecision
from control_plane.scaling.service import run_capacity_pass
from control_plane.scheduler.context import JobContext
from control_plane.services.clusters import add_cluster
from jobs import aurora_capacity
from tests import moto_server

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


def make_aurora(aws, cluster_id: str, min_acu: float = 0.5, max_acu: float = 4) -> None:
    aws.client("rds").create_db_cluster(
        DBClusterIdentifier=cluster_id, Engine="aurora-postgresql", MasterUsername="cp",
        MasterUserPassword="not-a-secret-1",
        ServerlessV2ScalingConfiguration={"MinCapacity": min_acu, "MaxCapacity": max_acu})


def register(ctx, admin, name: str, aurora_id: str, floor: float = 0.5, ceiling: float = 64) -> None:
    add_cluster(ctx, admin, name, "CP_CLUSTER_URL_UNUSED", aurora_cluster_id=aurora_id, acu_floor=floor,
                acu_ceiling=ceiling, verify=False)


def publish(aws, aurora_id: str, now: datetime, minutes: int, utilisation: float, capacity: float) -> None:
    stamps = [now - timedelta(minutes=m) for m in range(1, minutes + 1)]
    cw = aws.client("cloudwatch")
    dims = {"DBClusterIdentifier": aurora_id}
    cloudwatch.put_series(cw, "AWS/RDS", "ACUUtilization", dims, [(t, utilisation) for t in stamps], unit="Percent")
    cloudwatch.put_series(cw, "AWS/RDS", "ServerlessDatabaseCapacity", dims, [(t, capacity) for t in stamps])


def aurora_max(aws, aurora_id: str) -> float:
    cluster = aws.client("rds").describe_db_clusters(DBClusterIdentifier=aurora_id)["DBClusters"][0]
    return cluster["ServerlessV2ScalingConfiguration"]["MaxCapacity"]


def decisions(ctx) -> dict[str, ScalingDecision]:
    with ctx.session_factory() as session:
        rows = session.scalars(select(ScalingDecision).order_by(ScalingDecision.id)).all()
    return {r.cluster_name: r for r in rows}


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def test_scale_up_when_busy_for_15_minutes(ctx, aws, admin, now):
    make_aurora(aws, "busy-1", max_acu=4)
    register(ctx, admin, "busy", "busy-1")
    publish(aws, "busy-1", now, 20, utilisation=92, capacity=3.7)

    summary = aurora_capacity.run(JobContext(app=ctx, now=lambda: now))

    assert aurora_max(aws, "busy-1") == 8.0
    d = decisions(ctx)["busy"]
    assert (d.action, d.outcome) == ("scale_up", "applied")
    assert (d.current_max_acu, d.new_max_acu) == (Decimal("4.0"), Decimal("8.0"))
    assert d.inputs["util_min_15m"] == 92 and d.inputs["util_samples_15m"] >= 14
    assert "1 scale_up/applied" in summary
    with ctx.session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "cluster.scale"))
    assert entry.after == {"min_acu": "0.5", "max_acu": "8.0"}


def test_a_short_burst_is_not_enough(ctx, aws, admin, now):
    make_aurora(aws, "burst-1", max_acu=4)
    register(ctx, admin, "burst", "burst-1")
    publish(aws, "burst-1", now, 20, utilisation=50, capacity=2)
    publish(aws, "burst-1", now, 3, utilisation=95, capacity=3.8)  # last 3 minutes only

    run_capacity_pass(ctx, now)

    d = decisions(ctx)["burst"]
    assert (d.action, d.outcome) == ("no_change", "skipped")
    assert aurora_max(aws, "burst-1") == 4.0


def test_scale_down_after_a_quiet_period_never_below_use(ctx, aws, admin, now):
    make_aurora(aws, "quiet-1", min_acu=2, max_acu=32)
    make_aurora(aws, "used-1", max_acu=16)
    register(ctx, admin, "quiet", "quiet-1")
    register(ctx, admin, "used", "used-1")
    publish(aws, "quiet-1", now, 7 * 60, utilisation=12, capacity=3)
    publish(aws, "used-1", now, 7 * 60, utilisation=28, capacity=4.5)

    run_capacity_pass(ctx, now)

    found = decisions(ctx)
    assert (found["quiet"].action, found["quiet"].new_max_acu) == ("scale_down", Decimal("24.0"))  # max step 8
    assert aurora_max(aws, "quiet-1") == 24.0
    # halving 16 would give 8; the cluster used up to 4.5 ACU, still fine -> 8
    assert found["used"].new_max_acu == Decimal("8.0")


def test_scale_down_needs_the_whole_quiet_window(ctx, aws, admin, now):
    make_aurora(aws, "young-1", max_acu=16)
    register(ctx, admin, "young", "young-1")
    publish(aws, "young-1", now, 60, utilisation=10, capacity=1)  # quiet, but for one hour only

    run_capacity_pass(ctx, now)

    assert decisions(ctx)["young"].action == "no_change"
    assert aurora_max(aws, "young-1") == 16.0


def test_floor_and_ceiling_bound_every_change(ctx, aws, admin, now):
    make_aurora(aws, "top-1", max_acu=60)
    make_aurora(aws, "roof-1", max_acu=64)
    make_aurora(aws, "low-1", min_acu=2, max_acu=2)
    make_aurora(aws, "over-1", max_acu=48)
    register(ctx, admin, "top", "top-1", ceiling=64)
    register(ctx, admin, "roof", "roof-1", ceiling=64)
    register(ctx, admin, "low", "low-1", floor=2)
    register(ctx, admin, "over", "over-1", ceiling=32)
    for cid in ("top-1", "roof-1"):
        publish(aws, cid, now, 20, utilisation=99, capacity=60)
    publish(aws, "low-1", now, 7 * 60, utilisation=5, capacity=0.5)
    publish(aws, "over-1", now, 20, utilisation=50, capacity=10)

    run_capacity_pass(ctx, now)

    found = decisions(ctx)
    assert (found["top"].action, found["top"].new_max_acu) == ("scale_up", Decimal("64.0"))
    assert aurora_max(aws, "top-1") == 64.0
    assert found["roof"].action == "no_change" and "ceiling" in found["roof"].reason
    assert found["low"].action == "no_change" and "floor" in found["low"].reason
    assert aurora_max(aws, "low-1") == 2.0
    assert (found["over"].action, found["over"].new_max_acu) == ("scale_down", Decimal("32.0"))
    assert aurora_max(aws, "over-1") == 32.0


def test_cooldown_holds_back_a_second_change(ctx, aws, admin, now):
    make_aurora(aws, "hot-1", max_acu=4)
    register(ctx, admin, "hot", "hot-1")
    publish(aws, "hot-1", now, 30, utilisation=95, capacity=3.9)

    run_capacity_pass(ctx, now - timedelta(minutes=5))
    assert aurora_max(aws, "hot-1") == 8.0
    second = run_capacity_pass(ctx, now)
    assert (second[0].action, second[0].outcome) == ("scale_up", "skipped")
    assert "cooldown" in second[0].reason
    assert aurora_max(aws, "hot-1") == 8.0

    with ctx.session_factory() as session:
        outcomes = [r.outcome for r in session.scalars(select(ScalingDecision).order_by(ScalingDecision.id))]
    assert outcomes == ["applied", "skipped"]


def test_cooldown_expires(ctx, aws, admin, now):
    make_aurora(aws, "warm-1", max_acu=4)
    register(ctx, admin, "warm", "warm-1")
    publish(aws, "warm-1", now, 20, utilisation=95, capacity=3.9)
    run_capacity_pass(ctx, now - timedelta(minutes=16))  # no data yet at that time: no change
    with ctx.session_factory() as session:
        session.add(ScalingDecision(at=now - timedelta(minutes=16), cluster_name="warm", action="scale_up",
                                    outcome="applied"))
        session.commit()

    result = run_capacity_pass(ctx, now)

    assert (result[0].action, result[0].outcome) == ("scale_up", "applied")
    assert aurora_max(aws, "warm-1") == 8.0


def test_dry_run_records_without_applying(ctx, aws, admin, now):
    make_aurora(aws, "dry-1", max_acu=4)
    register(ctx, admin, "dry", "dry-1")
    publish(aws, "dry-1", now, 20, utilisation=90, capacity=3.6)
    ctx_dry = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, scaling_dry_run=True))

    run_capacity_pass(ctx_dry, now)

    d = decisions(ctx)["dry"]
    assert (d.action, d.outcome, d.dry_run, d.new_max_acu) == ("scale_up", "dry_run", True, Decimal("8.0"))
    assert aurora_max(aws, "dry-1") == 4.0
    # a dry-run decision does not start a cooldown
    assert run_capacity_pass(ctx, now)[0].outcome == "applied"


def test_missing_cluster_is_recorded_and_others_still_scale(ctx, aws, admin, now):
    make_aurora(aws, "real-1", max_acu=4)
    register(ctx, admin, "ghost", "ghost-1")
    register(ctx, admin, "real", "real-1")
    publish(aws, "real-1", now, 20, utilisation=90, capacity=3.6)

    summary = aurora_capacity.run(JobContext(app=ctx, now=lambda: now))

    found = decisions(ctx)
    assert (found["ghost"].action, found["ghost"].outcome) == ("error", "failed")
    assert "ghost-1" in found["ghost"].error and "not found" in found["ghost"].error
    assert found["real"].outcome == "applied"
    assert aurora_max(aws, "real-1") == 8.0
    assert "1 error/failed" in summary


class ThrottlingRds:
    """Passes every call to the real (moto) client except modify_db_cluster on one cluster."""

    def __init__(self, inner, throttled: str) -> None:
        self._inner, self._throttled = inner, throttled

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def modify_db_cluster(self, **kwargs):
        if kwargs["DBClusterIdentifier"] == self._throttled:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                              "ModifyDBCluster")
        return self._inner.modify_db_cluster(**kwargs)


def test_throttling_is_recorded_and_never_stops_other_clusters(ctx, aws, admin, now, monkeypatch):
    for cid in ("tha-1", "thb-1"):
        make_aurora(aws, cid, max_acu=4)
        publish(aws, cid, now, 20, utilisation=90, capacity=3.6)
    register(ctx, admin, "tha", "tha-1")
    register(ctx, admin, "thb", "thb-1")
    real_client = aws.client
    monkeypatch.setattr(aws, "client", lambda name: ThrottlingRds(real_client(name), "tha-1")
                        if name == "rds" else real_client(name))

    run_capacity_pass(ctx, now)

    found = decisions(ctx)
    assert (found["tha"].action, found["tha"].outcome) == ("scale_up", "failed")
    assert "throttled" in found["tha"].error
    assert found["thb"].outcome == "applied"
    assert aurora_max(aws, "tha-1") == 4.0 and aurora_max(aws, "thb-1") == 8.0


def test_no_metrics_is_a_recorded_no_change(ctx, aws, admin, now):
    make_aurora(aws, "silent-1", max_acu=4)
    register(ctx, admin, "silent", "silent-1")

    run_capacity_pass(ctx, now)

    d = decisions(ctx)["silent"]
    assert (d.action, d.outcome) == ("no_change", "skipped")
    assert "no ACUUtilization data" in d.reason


def test_clusters_without_aurora_id_are_left_alone(ctx, aws, now):
    assert aurora_capacity.run(JobContext(app=ctx, now=lambda: now)).startswith("no cluster")

"""Capacity decisions for 50 Aurora clusters with 24 h of 1-minute metrics each: RDS on a moto
server, decisions recorded in a real embedded PostgreSQL, CloudWatch either moto or an indexed
stand-in (bench.aws_common.IndexedCloudWatch); passes alternate between the two. Target: <= 5 s.

    .venv/bin/python -m bench.capacity [--clusters 50] [--passes 2]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bench.aws_common import IndexedCloudWatch, MixedAws, catalog, moto
from control_plane.db.models import Cluster, ScalingDecision
from control_plane.scaling.service import run_capacity_pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--passes", type=int, default=2, help="passes per CloudWatch variant")
    args = parser.parse_args()
    ctx = catalog()
    moto(ctx)
    rng = random.Random(5)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rds, cw = ctx.aws.client("rds"), ctx.aws.client("cloudwatch")
    indexed = IndexedCloudWatch()
    variants = {"moto": ctx.aws, "indexed": MixedAws(ctx.aws, indexed)}
    started = time.perf_counter()
    with ctx.session_factory() as session:
        for i in range(args.clusters):
            cid = f"bench-aurora-{i:03d}"
            rds.create_db_cluster(DBClusterIdentifier=cid, Engine="aurora-postgresql", MasterUsername="b",
                                  MasterUserPassword="bench-password-1",
                                  ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 16})
            session.add(Cluster(name=f"bench{i:03d}", url_env="UNUSED_URL", aurora_cluster_id=cid))
        session.commit()
    points = 0
    for i in range(args.clusters):
        cid = f"bench-aurora-{i:03d}"
        level = rng.choice([15, 50, 90])  # quiet, normal, busy clusters
        data = []
        for m in range(24 * 60, 0, -1):
            at = now - timedelta(minutes=m)
            util = max(1.0, min(100.0, level + rng.uniform(-5, 5)))
            dims = [{"Name": "DBClusterIdentifier", "Value": cid}]
            data.append({"MetricName": "ACUUtilization", "Dimensions": dims, "Timestamp": at, "Value": util})
            data.append({"MetricName": "ServerlessDatabaseCapacity", "Dimensions": dims, "Timestamp": at,
                         "Value": 16 * util / 100})
        for j in range(0, len(data), 1000):
            cw.put_metric_data(Namespace="AWS/RDS", MetricData=data[j:j + 1000])
            indexed.put_metric_data(Namespace="AWS/RDS", MetricData=data[j:j + 1000])
        points += len(data)
    print(f"setup: {args.clusters} clusters, {points:,} datapoints in {time.perf_counter() - started:.1f} s")

    for n in range(args.passes * 2):
        name = ("indexed", "moto")[n % 2]
        ctx.aws = variants[name]
        calls_before = indexed.calls
        started = time.perf_counter()
        outcomes = run_capacity_pass(ctx, now + timedelta(seconds=n), concurrency=8)
        elapsed = time.perf_counter() - started
        actions: dict[str, int] = {}
        for o in outcomes:
            actions[f"{o.action}/{o.outcome}"] = actions.get(f"{o.action}/{o.outcome}", 0) + 1
        calls = f", {indexed.calls - calls_before} GetMetricData calls" if name == "indexed" else ""
        print(f"pass {n + 1} (CloudWatch {name}): {len(outcomes)} decisions in {elapsed:.2f} s{calls}  {actions}")
    with ctx.session_factory() as session:
        print(f"decisions recorded: {session.scalar(select(func.count()).select_from(ScalingDecision))}")
    ctx.close()


if __name__ == "__main__":
    main()

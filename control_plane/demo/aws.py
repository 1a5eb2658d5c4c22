"""Simulated AWS for the embedded default: a moto server on a local port, clearly labelled.

It holds a demo Aurora Serverless v2 cluster (registered on the default cluster row), three days of
its CloudWatch metrics with a daily rhythm and a busy spell just now (so the capacity job has
something to decide), per-tenant request metrics, the archive bucket and an SNS topic. A small
ticker keeps publishing the cluster's capacity every minute, following whatever max ACU the scaler
set. Everything lives in memory and is rebuilt on each start.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import random
import socket
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from control_plane.aws import cloudwatch
from control_plane.aws.clients import AwsClients
from control_plane.context import AppContext, SimulatedAws
from control_plane.db.models import Cluster

log = logging.getLogger(__name__)
DEMO_AURORA_ID = "demo-aurora-cluster"
DEMO_TOPIC = "control-plane-alerts-demo"
LABEL = "simulated AWS (moto, local, demo only)"
_lock = threading.Lock()
_state: dict[str, object] = {}


def start_simulated_aws(ctx: AppContext) -> str | None:
    """Start (once per process) a local moto server with a demo Aurora cluster, CloudWatch metrics,
    an S3 bucket and an SNS topic; point ctx.aws at it and return its endpoint URL."""
    with _lock:
        url = _state.get("url")
        if url is None:
            url = _start_server()
            _state["url"] = url
            topic = _populate(ctx, url)
            _state["topic"] = topic
            _start_ticker(ctx, url)
        _point(ctx, str(url), str(_state["topic"]))
        _register_on_default_cluster(ctx)
        return str(url)


def _start_server() -> str:
    from moto.server import ThreadedMotoServer

    for key, value in (("AWS_ACCESS_KEY_ID", "demo"), ("AWS_SECRET_ACCESS_KEY", "demo")):
        os.environ.setdefault(key, value)  # moto needs some credentials; never real ones
    # moto answers some calls it does not implement (percentile statistics) with HTTP 500, which our
    # code handles and reports; werkzeug would print each one's traceback into the app's console.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    _state["server"] = server
    url = f"http://127.0.0.1:{port}"
    log.info("demo mode: %s at %s", LABEL, url)
    return url


def _point(ctx: AppContext, url: str, topic: str) -> None:
    if ctx.aws.endpoint_url != url:
        ctx.aws = AwsClients(ctx.settings, endpoint_url=url)
    ctx.settings = dataclasses.replace(ctx.settings, aws_endpoint_url=url, sns_topic_arn=topic)
    ctx.simulated_aws = SimulatedAws(url=url, label=LABEL, aurora_cluster_id=DEMO_AURORA_ID)


def _populate(ctx: AppContext, url: str) -> str:
    aws = AwsClients(ctx.settings, endpoint_url=url)
    aws.client("rds").create_db_cluster(
        DBClusterIdentifier=DEMO_AURORA_ID, Engine="aurora-postgresql", MasterUsername="demo",
        MasterUserPassword="demo-only-not-secret", ServerlessV2ScalingConfiguration={"MinCapacity": 0.5,
                                                                                    "MaxCapacity": 8})
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    topic = aws.client("sns").create_topic(Name=DEMO_TOPIC)["TopicArn"]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    capacity, utilisation = cluster_history(now, days=3, max_acu=8.0, rng=random.Random(11))  # noqa: S311
    dims = {"DBClusterIdentifier": DEMO_AURORA_ID}
    cw = aws.client("cloudwatch")
    cloudwatch.put_series(cw, "AWS/RDS", "ServerlessDatabaseCapacity", dims, capacity)
    cloudwatch.put_series(cw, "AWS/RDS", "ACUUtilization", dims, utilisation, unit="Percent")
    return topic


def _register_on_default_cluster(ctx: AppContext) -> None:
    with ctx.session_factory() as session:
        session.execute(update(Cluster).where(Cluster.name == "default", Cluster.aurora_cluster_id.is_(None))
                        .values(aurora_cluster_id=DEMO_AURORA_ID))
        session.commit()


def _load(at: datetime) -> float:
    """ACU in use: a working-day rhythm (UTC) between ~1 and ~5 ACU."""
    hour = at.hour + at.minute / 60
    daily = 0.5 + 0.5 * math.sin((hour - 9) / 24 * 2 * math.pi)
    weekday = 1.0 if at.weekday() < 5 else 0.6
    return 1.0 + 4.0 * daily * weekday


def cluster_history(now: datetime, days: int, max_acu: float,
                    rng: random.Random) -> tuple[list[tuple[datetime, float]], list[tuple[datetime, float]]]:
    """5-minute points for the past `days`, 1-minute points for the last 6 hours, and a busy spell
    (utilisation >= 85%) over the last 20 minutes."""
    stamps = [now - timedelta(minutes=m) for m in range(days * 24 * 60, 6 * 60, -5)]
    stamps += [now - timedelta(minutes=m) for m in range(6 * 60, 0, -1)]
    capacity, utilisation = [], []
    for at in stamps:
        if now - at <= timedelta(minutes=20):
            used = max_acu * rng.uniform(0.86, 0.97)
        else:
            used = min(max_acu, max(0.5, _load(at) * rng.uniform(0.9, 1.1)))
        capacity.append((at, round(used, 2)))
        utilisation.append((at, round(100 * used / max_acu, 1)))
    return capacity, utilisation


def _start_ticker(ctx: AppContext, url: str) -> None:
    """Publish the demo cluster's capacity every minute against its current max ACU."""
    aws = AwsClients(ctx.settings, endpoint_url=url)
    rng = random.Random(13)  # noqa: S311 - demo noise

    def tick() -> None:
        while not _state.get("stopped"):
            time.sleep(60)
            try:
                cluster = aws.client("rds").describe_db_clusters(DBClusterIdentifier=DEMO_AURORA_ID)["DBClusters"][0]
                max_acu = float(cluster["ServerlessV2ScalingConfiguration"]["MaxCapacity"])
                at = datetime.now(UTC).replace(second=0, microsecond=0)
                used = min(max_acu, max(0.5, _load(at) * rng.uniform(0.9, 1.1)))
                dims = {"DBClusterIdentifier": DEMO_AURORA_ID}
                cw = aws.client("cloudwatch")
                cloudwatch.put_series(cw, "AWS/RDS", "ServerlessDatabaseCapacity", dims, [(at, round(used, 2))])
                cloudwatch.put_series(cw, "AWS/RDS", "ACUUtilization", dims,
                                      [(at, round(100 * used / max_acu, 1))], unit="Percent")
            except Exception:  # the demo ticker must never take the app down
                log.debug("demo metrics tick failed", exc_info=True)

    threading.Thread(target=tick, name="demo-aws-ticker", daemon=True).start()


def publish_tenant_metrics(ctx: AppContext, daily: Iterable[tuple[str, datetime, int, int, float | None]]) -> None:
    """Per-tenant Requests / Errors / Latency datapoints (slug, at, requests, errors, p95) into the
    simulated CloudWatch, one datapoint per tenant and day; does nothing unless simulated AWS runs."""
    if ctx.simulated_aws is None:
        return
    ns, dim = ctx.settings.cloudwatch_namespace, ctx.settings.cloudwatch_tenant_dimension
    data: list[dict] = []
    for slug, at, requests, errors, p95 in daily:
        dims = [{"Name": dim, "Value": slug}]
        data.append({"MetricName": "Requests", "Dimensions": dims, "Timestamp": at, "Value": requests, "Unit": "Count"})
        data.append({"MetricName": "Errors", "Dimensions": dims, "Timestamp": at, "Value": errors, "Unit": "Count"})
        if p95 is not None:
            data.append({"MetricName": "Latency", "Dimensions": dims, "Timestamp": at, "Value": p95,
                         "Unit": "Milliseconds"})
    cw = ctx.aws.client("cloudwatch")
    for i in range(0, len(data), 1000):
        cw.put_metric_data(Namespace=ns, MetricData=data[i:i + 1000])

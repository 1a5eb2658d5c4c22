"""Shared set-up for the AWS-area benchmarks: a throwaway embedded catalog and a moto server."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from pathlib import Path

from control_plane.aws.clients import AwsClients
from control_plane.bootstrap import bootstrap
from control_plane.config import Settings
from control_plane.context import AppContext


def catalog() -> AppContext:
    """A fresh embedded PostgreSQL under a temporary directory, migrated."""
    data_dir = Path(tempfile.mkdtemp(prefix="cp-bench-"))
    settings = Settings.from_env({"CP_DATA_DIR": str(data_dir), "AWS_REGION": "us-east-1"})
    return bootstrap(settings)


def moto(ctx: AppContext) -> str:
    from moto.server import ThreadedMotoServer

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "bench")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
    url = f"http://127.0.0.1:{port}"
    ctx.aws = AwsClients(ctx.settings, endpoint_url=url)
    return url


class IndexedCloudWatch:
    """A CloudWatch stand-in with CloudWatch's GetMetricData semantics (aggregates per period, 500
    queries a call) whose lookups are indexed by series, as the real service's are. moto scans every
    stored datapoint for every query and period (O(queries x datapoints)), which would benchmark moto.
    """

    def __init__(self) -> None:
        self.series: dict[tuple, list[tuple[object, float]]] = {}
        self.calls = 0

    @staticmethod
    def _key(namespace: str, name: str, dims: list[dict]) -> tuple:
        return namespace, name, tuple(sorted((d["Name"], d["Value"]) for d in dims))

    def put_metric_data(self, Namespace: str, MetricData: list[dict]) -> dict:
        for d in MetricData:
            self.series.setdefault(self._key(Namespace, d["MetricName"], d.get("Dimensions", [])), []).append(
                (d["Timestamp"], float(d["Value"])))
        for points in self.series.values():
            points.sort(key=lambda p: p[0])
        return {}

    def get_metric_data(self, MetricDataQueries: list[dict], StartTime, EndTime, **_) -> dict:
        import bisect
        from datetime import timedelta

        assert len(MetricDataQueries) <= 500
        self.calls += 1
        results = []
        for q in MetricDataQueries:
            stat = q["MetricStat"]
            metric = stat["Metric"]
            points = self.series.get(self._key(metric["Namespace"], metric["MetricName"],
                                               metric.get("Dimensions", [])), [])
            stamps = [p[0] for p in points]
            period = timedelta(seconds=stat["Period"])
            ts_out, values_out = [], []
            start = StartTime
            while start < EndTime:
                lo, hi = bisect.bisect_left(stamps, start), bisect.bisect_left(stamps, min(start + period, EndTime))
                values = [v for _, v in points[lo:hi]]
                if values:
                    ts_out.append(start)
                    values_out.append({"Sum": sum(values), "Average": sum(values) / len(values),
                                       "Minimum": min(values), "Maximum": max(values),
                                       "SampleCount": float(len(values))}.get(stat["Stat"], sorted(values)[
                                           max(0, int(len(values) * 0.95) - 1)]))
                start += period
            results.append({"Id": q["Id"], "Timestamps": ts_out, "Values": values_out, "StatusCode": "Complete"})
        return {"MetricDataResults": results}


class MixedAws:
    """moto for everything except CloudWatch."""

    def __init__(self, inner, cloudwatch) -> None:
        self.inner, self.cloudwatch = inner, cloudwatch
        self.endpoint_url = inner.endpoint_url

    def client(self, name: str):
        return self.cloudwatch if name == "cloudwatch" else self.inner.client(name)

"""CloudWatch metric reads in bulk: GetMetricData takes 500 queries per call, so thousands of
series cost a handful of calls, made a few at a time."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from control_plane.aws.errors import AWS_FAILURES, translate

MAX_QUERIES_PER_CALL = 500
Series = list[tuple[datetime, float]]


@dataclass(frozen=True)
class MetricQuery:
    key: str  # the caller's name for the answer; any string
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str  # Sum | Average | Minimum | Maximum | SampleCount | p95 ...
    period: int  # seconds, a multiple of 60


def fetch(cloudwatch: Any, queries: Sequence[MetricQuery], start: datetime, end: datetime,
          concurrency: int = 4) -> dict[str, Series]:
    """Every query's datapoints in [start, end), oldest first. Missing values are left out."""
    batches = [queries[i:i + MAX_QUERIES_PER_CALL] for i in range(0, len(queries), MAX_QUERIES_PER_CALL)]
    results: dict[str, Series] = {q.key: [] for q in queries}
    if not batches:
        return results

    def one(batch: Sequence[MetricQuery]) -> dict[str, Series]:
        return _fetch_batch(cloudwatch, batch, start, end)

    if len(batches) == 1:
        results.update(one(batches[0]))
        return results
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(batches)))) as pool:
        for answer in pool.map(one, batches):
            results.update(answer)
    return results


def _fetch_batch(cloudwatch: Any, batch: Sequence[MetricQuery], start: datetime, end: datetime) -> dict[str, Series]:
    by_id = {f"q{i}": q for i, q in enumerate(batch)}
    request = [
        {
            "Id": qid,
            "MetricStat": {
                "Metric": {"Namespace": q.namespace, "MetricName": q.metric,
                           "Dimensions": [{"Name": n, "Value": v} for n, v in q.dimensions]},
                "Period": q.period,
                "Stat": q.stat,
            },
            "ReturnData": True,
        }
        for qid, q in by_id.items()
    ]
    answer: dict[str, Series] = {q.key: [] for q in batch}
    token: str | None = None
    try:
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": request, "StartTime": start, "EndTime": end,
                                      "ScanBy": "TimestampAscending"}
            if token:
                kwargs["NextToken"] = token
            page = cloudwatch.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                query = by_id.get(result["Id"])
                if query is None:
                    continue
                points = answer[query.key]
                for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    if value is not None:
                        points.append((ts, float(value)))
            token = page.get("NextToken")
            if not token:
                break
    except AWS_FAILURES as exc:
        raise translate(exc, "CloudWatch get_metric_data") from exc
    for points in answer.values():
        points.sort(key=lambda p: p[0])
    return answer


def put_series(cloudwatch: Any, namespace: str, metric: str, dimensions: dict[str, str],
               points: Sequence[tuple[datetime, float]], *, unit: str = "None") -> None:
    """Publish datapoints (demo data and tests), 1,000 per call."""
    dims = [{"Name": n, "Value": v} for n, v in dimensions.items()]
    data = [{"MetricName": metric, "Dimensions": dims, "Timestamp": ts, "Value": float(v), "Unit": unit}
            for ts, v in points]
    try:
        for i in range(0, len(data), 1000):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[i:i + 1000])
    except AWS_FAILURES as exc:
        raise translate(exc, f"CloudWatch put_metric_data {namespace}/{metric}") from exc

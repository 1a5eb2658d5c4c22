"""Usage rollup for 2,000 tenants with real schemas on an embedded PostgreSQL and hourly request
metrics for two days in CloudWatch (the indexed stand-in: moto's GetMetricData is quadratic, see
bench.aws_common). Target: <= 30 s per rollup. Alternates two runs of each: first (inserts) and
again (updates).

    .venv/bin/python -m bench.usage_rollup [--tenants 2000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from bench.aws_common import IndexedCloudWatch, MixedAws, catalog
from control_plane.adapters import tenant_ddl
from control_plane.usage.rollup import rollup_usage


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=2000)
    args = parser.parse_args()
    ctx = catalog()
    slugs = [f"bench{i:05d}" for i in range(args.tenants)]
    started = time.perf_counter()
    with psycopg.connect(ctx.clusters.catalog_url) as conn:
        for i in range(0, len(slugs), 100):
            for slug in slugs[i:i + 100]:
                conn.execute(tenant_ddl.provision_script(slug))
                conn.execute(sql.SQL("INSERT INTO {}.users (email, full_name) SELECT 'u' || g, 'n' "
                                     "FROM generate_series(1, %s) g").format(sql.Identifier(f"tenant_{slug}")),
                             (random.randint(0, 200),))
            conn.commit()
        with conn.cursor() as cur, cur.copy("COPY control_plane.tenants (slug, name, plan_code, status, cluster_name) "
                                            "FROM STDIN") as copy:
            for slug in slugs:
                copy.write_row((slug, slug, "team", "active", "default"))
        conn.commit()
    print(f"setup: {args.tenants} tenant schemas in {time.perf_counter() - started:.1f} s")

    cw = IndexedCloudWatch()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    data = []
    for slug in slugs:
        dims = [{"Name": "TenantId", "Value": slug}]
        for h in range(1, 48):
            at = now - timedelta(hours=h)
            data += [{"MetricName": "Requests", "Dimensions": dims, "Timestamp": at, "Value": random.randint(0, 900)},
                     {"MetricName": "Errors", "Dimensions": dims, "Timestamp": at, "Value": random.randint(0, 9)},
                     {"MetricName": "Latency", "Dimensions": dims, "Timestamp": at, "Value": random.uniform(20, 300)}]
    cw.put_metric_data(Namespace=ctx.settings.cloudwatch_namespace, MetricData=data)
    ctx.aws = MixedAws(ctx.aws, cw)
    print(f"CloudWatch: {len(data):,} datapoints")

    for n in range(2):
        calls = cw.calls
        started = time.perf_counter()
        result = rollup_usage(ctx, now)
        elapsed = time.perf_counter() - started
        print(f"rollup {n + 1}: {result.summary()} in {elapsed:.2f} s ({cw.calls - calls} GetMetricData calls)")
    ctx.close()


if __name__ == "__main__":
    main()

"""Tenants and load per cluster (control_plane/services/cluster_load.py, shown on the Usage and
Scaling screens and in a tenant's move form) on a catalog of 2,000 tenants over 3 clusters with
18 months of daily usage each (1.1 M usage rows) and 20 open noisy flags. The read model reads the
catalog only, so the tenants are catalog rows (no schemas). Prints the median of 7 runs.

    .venv/bin/python -m bench.cluster_load [--tenants 2000] [--days 548]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

import psycopg

from bench.aws_common import catalog
from control_plane.auth.permissions import system_actor
from control_plane.services.cluster_load import cluster_load_frame

TODAY = date(2026, 3, 31)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--days", type=int, default=548)
    args = parser.parse_args()
    ctx = catalog()
    started = time.perf_counter()
    with psycopg.connect(ctx.clusters.catalog_url) as conn:
        conn.execute("INSERT INTO control_plane.clusters (name, url_env) VALUES ('eu2', 'CP_CLUSTER_URL_EU2'), "
                     "('us1', 'CP_CLUSTER_URL_US1')")
        conn.execute("""INSERT INTO control_plane.tenants (slug, name, plan_code, status, cluster_name)
                        SELECT 'bench' || lpad(g::text, 5, '0'), 'Bench ' || g, 'team',
                               CASE WHEN g %% 10 = 0 THEN 'suspended' ELSE 'active' END,
                               (ARRAY['default', 'eu2', 'us1'])[1 + g %% 3]
                          FROM generate_series(1, %s) g""", (args.tenants,))
        conn.execute("""INSERT INTO control_plane.usage_daily (tenant_slug, day, storage_bytes, row_estimate, requests)
                        SELECT 'bench' || lpad(t::text, 5, '0'), %s::date - d, 1000000 + t * 10 + d, 1000 + t,
                               (t * 7 + d) %% 5000
                          FROM generate_series(1, %s) t, generate_series(0, %s - 1) d""",
                     (TODAY, args.tenants, args.days))
        conn.execute("""INSERT INTO control_plane.noisy_neighbour_flags
                        (tenant_slug, metric, value, baseline, factor, recommendation)
                        SELECT 'bench' || lpad(g::text, 5, '0'), 'requests', 100000, 1000, 100, 'move it'
                          FROM generate_series(1, 20) g""")
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    print(f"catalog filled in {time.perf_counter() - started:.1f} s: {args.tenants} tenants, "
          f"{args.tenants * args.days:,} usage rows")
    actor, times = system_actor("bench"), []
    for _ in range(7):
        began = time.perf_counter()
        frame = cluster_load_frame(ctx, actor, today=TODAY)
        times.append(time.perf_counter() - began)
    assert int(frame["tenants"].sum()) == args.tenants
    print(f"cluster_load_frame: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) for {len(frame)} clusters")


if __name__ == "__main__":
    main()

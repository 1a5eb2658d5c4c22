"""Provisioning overhead: the lifecycle service vs the same DDL sent raw with psycopg.

    .venv/bin/python bench/provisioning.py [--tenants 200] [--many 2000]

The raw variant is the physical limit: the exact DDL the service runs (role, schema, template,
grants) as one script, one round trip, one implicit transaction per tenant on an autocommit
connection. The two variants alternate one tenant at a time (which one goes first alternates too),
because this machine's speed drifts 2-3x within a minute; paired ratios are reported.
`--many N` also times `tenants provision-many` of N tenants from a CSV in a subprocess.
Uses DATABASE_URL's server if set, else a private embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control_plane.adapters.clusters import ClusterConnections, libpq_url  # noqa: E402
from control_plane.auth.permissions import system_actor  # noqa: E402
from control_plane.aws.clients import AwsClients  # noqa: E402
from control_plane.config import Settings  # noqa: E402
from control_plane.context import AppContext  # noqa: E402
from control_plane.db import embedded, migrate  # noqa: E402
from control_plane.db.engine import make_engine, make_session_factory  # noqa: E402
from control_plane.services import tenants  # noqa: E402
from control_plane.tenant_schema import template  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))  # nearest rank
    return ordered[min(rank, len(ordered)) - 1]


def fresh_database(admin_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    embedded.harden(libpq_url(admin_url), name)  # passes `clusters check`, so provisioning is allowed
    base, _, query = admin_url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + (("?" + query) if query else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--many", type=int, default=0, help="also time provision-many of this many tenants")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs for provision-many")
    args = parser.parse_args()

    server = None
    admin_url = os.environ.get("DATABASE_URL")
    if admin_url is None:
        server = embedded.start(Path(tempfile.mkdtemp(prefix="bench-pg-")))
        admin_url = server.url("postgres")
    url = fresh_database(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = make_engine(url)
    migrate.upgrade(engine)
    settings = Settings.from_env({})
    ctx = AppContext(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                     clusters=ClusterConnections(url), aws=AwsClients(settings), catalog_url=url)
    actor = system_actor("bench")
    run = uuid.uuid4().hex[:4]
    raw = psycopg.connect(libpq_url(url), autocommit=True)

    service_ms: list[float] = []
    raw_ms: list[float] = []

    def via_service(i: int) -> None:
        t0 = time.perf_counter()
        tenants.provision(ctx, actor, f"s{run}_{i}", f"Service {i}", "team")
        service_ms.append((time.perf_counter() - t0) * 1000)

    def via_raw(i: int) -> None:
        script = template.provision_script(f"r{run}_{i}")  # the service's script, latest version
        t0 = time.perf_counter()
        raw.execute(script)
        raw_ms.append((time.perf_counter() - t0) * 1000)

    for i in range(5):  # warm caches and connection pools, not measured
        tenants.provision(ctx, actor, f"w{run}_{i}", "Warm", "team")
        raw.execute(template.provision_script(f"v{run}_{i}"))
    for i in range(args.tenants):
        first, second = (via_service, via_raw) if i % 2 == 0 else (via_raw, via_service)
        first(i)
        second(i)

    ratios = [s / r for s, r in zip(service_ms, raw_ms, strict=True)]
    print(f"tenants per variant: {args.tenants} (alternating, paired)")
    print(f"{'variant':<22}{'median ms':>12}{'p95 ms':>10}")
    print(f"{'service (provision)':<22}{statistics.median(service_ms):>12.1f}{percentile(service_ms, 95):>10.1f}")
    print(f"{'raw DDL (psycopg)':<22}{statistics.median(raw_ms):>12.1f}{percentile(raw_ms, 95):>10.1f}")
    print(f"ratio of medians: {statistics.median(service_ms) / statistics.median(raw_ms):.2f}x; "
          f"median of paired ratios: {statistics.median(ratios):.2f}x (target <= 1.3x)")

    if args.many:
        csv_path = Path(tempfile.mkdtemp()) / "tenants.csv"
        csv_path.write_text("slug,name,plan\n" + "".join(
            f"m{run}_{i},Bulk {i},{('free', 'starter', 'team', 'business')[i % 4]}\n" for i in range(args.many)))
        env = {**os.environ, "DATABASE_URL": url}
        t0 = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "control_plane", "tenants", "provision-many", str(csv_path),
                                 "--jobs", str(args.jobs), "--format", "csv"], cwd=ROOT, env=env,
                                capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - t0
        status = "ok" if result.returncode == 0 else f"exit {result.returncode}: {result.stderr.strip()[-200:]}"
        print(f"provision-many {args.many} tenants (--jobs {args.jobs}): {elapsed:.1f} s "
              f"({elapsed / args.many * 1000:.1f} ms/tenant; target < 90 s for 2,000) [{status}]")

    raw.close()
    ctx.close()
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()

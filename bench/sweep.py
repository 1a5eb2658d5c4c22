"""Health sweep of N tenants (schema probe through each tenant's role + HTTP probe of its endpoint)
against a local PostgreSQL and a local HTTP server, next to one sequential probe × N in the same run.

    .venv/bin/python bench/sweep.py [--tenants 2000] [--rounds 2]

The sweep is the real job's work (control_plane.uptime.sweep: probe everything with bounded
concurrency, COPY the results into recent_checks, update incidents and burn-rate alerts);
"storing" is that last part. The sequential variant probes the same targets one at a time over
one connection and one HTTP client. The variants alternate (this machine's speed drifts 2-3x
within a minute). Uses DATABASE_URL's server if set, else a private embedded PostgreSQL in a
temporary directory. The HTTP server is a separate process so it does not compete for this
process's GIL.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control_plane.adapters.clusters import ClusterConnections, libpq_url  # noqa: E402
from control_plane.aws.clients import AwsClients  # noqa: E402
from control_plane.config import Settings  # noqa: E402
from control_plane.context import AppContext  # noqa: E402
from control_plane.db import embedded, migrate  # noqa: E402
from control_plane.db.engine import make_engine, make_session_factory  # noqa: E402
from control_plane.uptime import probes  # noqa: E402
from control_plane.uptime.sweep import load_targets, probe_all, record  # noqa: E402

HTTP_SERVER = r'''
import asyncio, sys
DELAY = float(sys.argv[1]) / 1000
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            if DELAY:
                await asyncio.sleep(DELAY)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
'''


def catalog(tmp: Path) -> tuple[str, object | None]:
    if os.environ.get("DATABASE_URL"):
        server_url = Settings.from_env().database_url
        base, server = server_url.rsplit("/", 1)[0], None
    else:
        server = embedded.start(tmp)
        base = None
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin_url = libpq_url(server.url("postgres") if server else f"{base}/postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    embedded.harden(admin_url, name)  # passes `clusters check`, so provisioning is allowed
    url = server.url(name) if server else f"{base}/{name}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url, server


def make_tenants(url: str, count: int, endpoint: str, prefix: str) -> None:
    """Lightweight tenants: role, schema and a `users` table each (what the probe reads), and
    their catalog rows; in batches so no transaction holds thousands of locks."""
    with psycopg.connect(libpq_url(url)) as conn:
        for start in range(0, count, 200):
            for i in range(start, min(count, start + 200)):
                slug = f"{prefix}{i:05d}"
                s, r = sql.Identifier(f"tenant_{slug}"), sql.Identifier(f"tenant_{slug}")
                conn.execute(sql.SQL(
                    "CREATE ROLE {r} NOLOGIN; GRANT {r} TO CURRENT_USER; CREATE SCHEMA {s}; "
                    "CREATE TABLE {s}.users (id bigint PRIMARY KEY, email text); "
                    "GRANT USAGE ON SCHEMA {s} TO {r}; GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r};"
                ).format(s=s, r=r))
            conn.execute(
                "INSERT INTO control_plane.tenants (slug, name, plan_code, status, cluster_name, endpoint_url) "
                "SELECT %s || lpad(g::text, 5, '0'), 'Bench ' || g, 'team', 'active', 'default', %s "
                "FROM generate_series(%s::int, %s::int) g", (prefix, endpoint, start, min(count, start + 200) - 1))
            conn.commit()


def sequential(ctx: AppContext, tenants, timeout: float) -> tuple[float, int]:
    failed = 0
    t0 = time.perf_counter()
    with probes.http_client(timeout, 1) as client:
        for tenant in tenants:
            failed += not probes.probe_schema(ctx.clusters.pool(None, tenant.slug), tenant.slug, timeout).ok
            failed += not probes.probe_http(client, tenant.endpoint_url, timeout,
                                            allow=ctx.settings.probe_allow_networks).ok
    return time.perf_counter() - t0, failed


def sweep(ctx: AppContext, tenants, clusters) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    rows = probe_all(ctx, tenants, clusters)
    probed = time.perf_counter() - t0
    result = record(ctx, rows, rows[-1].checked_at)
    return time.perf_counter() - t0, probed, result.failed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--http-latency-ms", type=float, default=0.0,
                        help="simulated network latency of every endpoint (the local server answers in ~0 ms)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cp-bench-sweep-"))
    http = subprocess.Popen([sys.executable, "-c", HTTP_SERVER, str(args.http_latency_ms)],
                            stdout=subprocess.PIPE, text=True)
    server = None
    try:
        port = int(http.stdout.readline())
        url, server = catalog(tmp)
        t0 = time.perf_counter()
        make_tenants(url, args.tenants, f"http://127.0.0.1:{port}/health", f"b{uuid.uuid4().hex[:4]}_")
        print(f"setup: {args.tenants} tenants (role, schema, table, catalog row) in {time.perf_counter() - t0:.1f}s")
        # The endpoints are this machine's loopback server: allowed explicitly, as an operator would.
        settings = replace(Settings.from_env({"CP_DATA_DIR": str(tmp), "CP_PROBE_ALLOW_NETWORKS": "127.0.0.0/8"}),
                           database_url=url)
        engine = make_engine(url, pool_size=10)
        ctx = AppContext(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                         clusters=ClusterConnections(url), aws=AwsClients(settings), catalog_url=url)
        tenants, clusters = load_targets(ctx)
        print(f"targets: {len(tenants)} schema + {sum(1 for t in tenants if t.endpoint_url)} HTTP + "
              f"{len(clusters)} database; probe concurrency {settings.probe_concurrency}, "
              f"timeout {settings.probe_timeout_seconds}s; endpoint latency {args.http_latency_ms:g} ms; "
              f"{os.cpu_count()} CPUs")
        sweep(ctx, tenants[:50], clusters)  # warm the pools
        print(f"{'round':<6}{'sweep (s)':>11}{'of it probing':>15}{'storing':>9}{'sequential (s)':>16}{'speed-up':>10}")
        for r in range(args.rounds):
            order = ("sweep", "sequential") if r % 2 == 0 else ("sequential", "sweep")
            figures = {}
            for variant in order:
                if variant == "sweep":
                    total, probed, failed = sweep(ctx, tenants, clusters)
                    figures["sweep"], figures["probed"] = total, probed
                else:
                    figures["sequential"], failed = sequential(ctx, tenants, settings.probe_timeout_seconds)
                if failed:
                    print(f"  warning: {failed} probes failed in the {variant} variant")
            print(f"{r + 1:<6}{figures['sweep']:>11.2f}{figures['probed']:>15.2f}"
                  f"{figures['sweep'] - figures['probed']:>9.2f}{figures['sequential']:>16.2f}"
                  f"{figures['sequential'] / figures['sweep']:>9.1f}×")
        print(f"target: a sweep of {args.tenants} tenants in ≤ 10 s")
        ctx.close()
    finally:
        http.kill()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()

"""Fleet migrations: the no-op answer over a large fleet, and applying revision 2 (a nullable
column plus an index) through the run machinery vs a raw replay of the same DDL.

    .venv/bin/python bench/fleet_migrations.py [--noop-tenants 2000] [--schemas 300] [--chunks 10]
    .venv/bin/python bench/fleet_migrations.py --schemas 2000 --chunks 4   # the issue's size

No-op: every tenant is at the target, so `tenants migrate` must answer "nothing to do" from one
catalog query (the fleet's catalog rows are enough for that; counted with a statement listener).
Apply: 2 x --schemas real schemas at version 1 (all in the one database, so both variants work
against the same catalog size; tables, indexes and version comment, no tenant roles: revision 2
grants nothing); --schemas of them are migrated by runs and the other --schemas by
a raw replay. `--schemas 2000` is the issue's figure: 2,000 schemas migrated by runs, paired with
2,000 replayed raw (4,000 tenant schemas in the database).
  runs: one run per chunk (`--tenants`, one wave, soak 0, --concurrency per cluster, default 1):
        each tenant in its own transaction with its advisory lock, SET LOCAL timeouts, version
        re-read under the lock, revision, schema comment, catalog version, audit entry; a result
        row per tenant; run start, transitions and audit included in the time.
  raw:  the bare DDL of revision 2 plus the schema comment, one transaction per schema sent as one
        script (BEGIN ... COMMIT, one round trip) on one autocommit connection: the cheapest replay.
The two alternate chunk by chunk (this machine's speed drifts 2-3x within a minute); ms per schema
is reported for each, and the ratio (target <= 2x).
Runs on a private embedded PostgreSQL in a temporary directory (bench/aws_common.py catalog()).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.aws_common import catalog  # noqa: E402
from control_plane.adapters import tenant_ddl  # noqa: E402
from control_plane.adapters.clusters import libpq_url  # noqa: E402
from control_plane.auth.permissions import system_actor  # noqa: E402
from control_plane.domain.slugs import schema_name  # noqa: E402
from control_plane.fleet import service  # noqa: E402
from control_plane.fleet.options import Options  # noqa: E402
from control_plane.tenant_schema import template  # noqa: E402
from control_plane.tenant_schema.revisions import DEFAULT  # noqa: E402

MAKE_BATCH = 20  # schemas created per round trip in the set-up
INSERT_TENANT = ("INSERT INTO control_plane.tenants (slug, name, plan_code, status, cluster_name, template_version) "
                 "VALUES (%s, %s, 'team', 'active', 'default', %s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noop-tenants", type=int, default=2000)
    parser.add_argument("--schemas", type=int, default=300, help="schemas per variant for the apply comparison")
    parser.add_argument("--chunks", type=int, default=10, help="paired chunks (each chunk of the runs is one run)")
    parser.add_argument("--concurrency", type=int, default=1, help="tenants at once per cluster in the runs")
    args = parser.parse_args()

    ctx = catalog()
    engine, url = ctx.engine, ctx.catalog_url
    actor = system_actor("bench")
    run = uuid.uuid4().hex[:4]
    raw = psycopg.connect(libpq_url(url), autocommit=True)

    # --- no-op -----------------------------------------------------------------------------------
    with raw.transaction(), raw.cursor() as cur:
        cur.executemany(INSERT_TENANT, [(f"n{run}_{i}", f"Noop {i}", DEFAULT.latest)
                                        for i in range(args.noop_tenants)])
    raw.execute("ANALYZE control_plane.tenants")
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):
        statements.append(statement.split()[0].upper())

    noop_ms = []
    for _ in range(21):
        statements.clear()
        t0 = time.perf_counter()
        started = service.start(ctx, actor, Options())
        noop_ms.append((time.perf_counter() - t0) * 1000)
        assert started.run_id is None
    event.remove(engine, "before_cursor_execute", count)
    reads = [s for s in statements if s in ("SELECT", "WITH")]
    print(f"no-op over {args.noop_tenants} tenants at v{DEFAULT.latest}: median {statistics.median(noop_ms):.1f} ms, "
          f"max {max(noop_ms):.1f} ms; statements per call: {len(reads)} catalog read(s) + "
          f"{len(statements) - len(reads)} audit insert (target <= 50 ms, one query)")

    # --- apply v2 vs raw replay --------------------------------------------------------------------
    n = args.schemas
    t0 = time.perf_counter()
    slugs_made = [f"{prefix}{run}_{i}" for i in range(n) for prefix in ("s", "r")]
    # Set-up only: several schemas per round trip, and no tenant roles (revision 2 grants nothing,
    # and granting thousands of roles to one user slows every later GRANT on this server).
    for start in range(0, len(slugs_made), MAKE_BATCH):
        batch = slugs_made[start:start + MAKE_BATCH]
        with raw.transaction(), raw.cursor() as cur:
            cur.execute(sql.SQL(" ").join(template.create_schema(schema_name(slug), 1) for slug in batch))
            cur.executemany(INSERT_TENANT, [(slug, slug, 1) for slug in batch])
    raw.execute("ANALYZE control_plane.tenants")
    print(f"made {2 * n} schemas at v1 in {time.perf_counter() - t0:.1f} s")
    revision = DEFAULT.get(2)
    chunk = max(1, n // args.chunks)
    service_ms, raw_ms = [], []
    for start in range(0, n, chunk):
        idx = range(start, min(n, start + chunk))

        def via_service(idx=idx) -> None:
            slugs = tuple(f"s{run}_{i}" for i in idx)
            t0 = time.perf_counter()
            options = Options(target=2, waves=(100,), soak_seconds=0, concurrency=args.concurrency, tenants=slugs)
            started = service.start(ctx, actor, options)
            step = service.drive(ctx, actor, started.run_id)
            assert step.status == "completed", step
            service_ms.append((time.perf_counter() - t0) * 1000 / len(slugs))

        def via_raw(idx=idx) -> None:
            t0 = time.perf_counter()
            for i in idx:
                schema = schema_name(f"r{run}_{i}")
                raw.execute(sql.Composed([sql.SQL("BEGIN; "), revision.forward(schema), sql.SQL(" "),
                                          tenant_ddl.comment_schema(schema, 2), sql.SQL("COMMIT")]))
            raw_ms.append((time.perf_counter() - t0) * 1000 / len(idx))

        first, second = (via_service, via_raw) if (start // chunk) % 2 == 0 else (via_raw, via_service)
        first()
        second()
    ratios = [s / r for s, r in zip(service_ms, raw_ms, strict=True)]
    print(f"apply v2 (nullable column + index): {n} schemas by runs and {n} by raw replay ({2 * n} in the "
          f"database), {len(ratios)} paired chunks of {chunk} (runs with concurrency {args.concurrency}; raw: one "
          "connection, sequential, one round trip per schema):")
    print(f"  runs (service):  {statistics.median(service_ms):.2f} ms/schema (median of chunks)")
    print(f"  raw DDL replay:  {statistics.median(raw_ms):.2f} ms/schema (median of chunks)")
    print(f"  median of paired ratios: {statistics.median(ratios):.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()

"""A fleet grown to N tenants on one PostgreSQL, measured at checkpoints (issue 19).

    .venv/bin/python bench/fleet_scale.py [--to 20000] [--checkpoints 2000,10000,20000]
        [--data-dir .data/fleet-scale] [--engine binaries|pgserver|auto] [--sample 30]

Resumable: the server and its catalog live under --data-dir and are reused, the fleet grows from
what is there, and figures already taken are kept in results.json there; run it again to go on
(growth to 20,000 takes a while; stop it with Ctrl-C at any point).

Growth uses the template's own DDL (role, schema, tables, grants) with the catalog rows, 100
tenants per transaction: the cheapest way to get there, not what is measured. At each checkpoint:
- provision: the project (`tenants.provision`) beside raw SQL (the same role/schema/template/grants
  script in one transaction), alternating one tenant at a time (this machine's speed drifts);
- data plane: the worst and p99 tenant transaction (SET LOCAL ROLE … SELECT) of a data-plane
  connection running in a loop while the project provisions --sample tenants;
- verify-schemas (fleet.drift.verify) and reconcile's drift report, seconds;
- `pg_dump --schema-only` of the whole database: seconds, or the error;
- `tenants list` as JSON: seconds and size.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control_plane.adapters.clusters import ClusterConnections  # noqa: E402
from control_plane.adapters.tenant_context import tenant_transaction  # noqa: E402
from control_plane.adapters.tenant_ddl import provision_script  # noqa: E402
from control_plane.archive import pgtools  # noqa: E402
from control_plane.auth.permissions import system_actor  # noqa: E402
from control_plane.aws.clients import AwsClients  # noqa: E402
from control_plane.config import Settings  # noqa: E402
from control_plane.context import AppContext  # noqa: E402
from control_plane.core.records import record  # noqa: E402
from control_plane.db import embedded, migrate, privileged  # noqa: E402
from control_plane.db.engine import make_engine, make_session_factory  # noqa: E402
from control_plane.fleet import drift  # noqa: E402
from control_plane.services import reconcile, tenants  # noqa: E402

DATABASE = "fleet_scale"
BATCH = 100
ACTOR = system_actor("bench")


def nearest_rank(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), -(-len(ordered) * pct // 100)) - 1)]


def open_context(server: embedded.EmbeddedServer) -> AppContext:
    with psycopg.connect(privileged.privileged_conninfo(server.url("postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    url = server.url(DATABASE)
    engine = make_engine(url, pool_size=4)
    migrate.ensure_current(engine)
    settings = Settings.from_env({})
    return AppContext(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                      clusters=ClusterConnections(url), aws=AwsClients(settings), catalog_url=url)


def fleet_size(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM control_plane.tenants").fetchone()[0]


def grow(conn: psycopg.Connection, target: int) -> None:
    have = fleet_size(conn)
    started, first = time.monotonic(), have
    while have < target:
        slugs = [f"g{i:06d}" for i in range(have, min(have + BATCH, target))]
        with conn.transaction():
            conn.execute(sql.Composed([provision_script(s) for s in slugs]))
            conn.execute(
                "INSERT INTO control_plane.tenants (slug, name, plan_code, status, cluster_name, template_version) "
                "SELECT s, 'Grown ' || s, 'team', 'active', 'default', 1 FROM unnest(%s::text[]) s", (slugs,))
        have += len(slugs)
        if have % 1000 == 0 or have == target:
            rate = (have - first) / max(time.monotonic() - started, 1e-9)
            print(f"  grown to {have:,} tenants ({rate:.0f}/s)", flush=True)


def provisioning(ctx: AppContext, raw: psycopg.Connection, tag: str, sample: int) -> tuple[float, float]:
    project, plain = [], []
    for i in range(sample):
        def via_project(i: int = i) -> None:
            t0 = time.perf_counter()
            tenants.provision(ctx, ACTOR, f"p{tag}_{i}", f"Project {i}", "team")
            project.append((time.perf_counter() - t0) * 1000)

        def via_raw(i: int = i) -> None:
            script = provision_script(f"r{tag}_{i}")
            t0 = time.perf_counter()
            with raw.transaction():
                raw.execute(script)
            plain.append((time.perf_counter() - t0) * 1000)

        for step in ((via_project, via_raw) if i % 2 == 0 else (via_raw, via_project)):
            step()
    return statistics.median(project), statistics.median(plain)


def data_plane_during_provisioning(ctx: AppContext, raw: psycopg.Connection, tag: str,
                                   sample: int) -> tuple[int, float, float]:
    """(transactions, p99 ms, worst ms) of a data-plane loop while `sample` tenants are provisioned."""
    stop, times = threading.Event(), []
    grown = [r[0] for r in raw.execute("SELECT slug FROM control_plane.tenants WHERE slug LIKE 'g%%' "
                                       "ORDER BY random() LIMIT 1000")]

    def loop() -> None:
        rng = random.Random(7)
        with psycopg.connect(ctx.clusters.data_plane_conninfo(None), autocommit=True) as conn:
            while not stop.is_set():
                slug = rng.choice(grown)
                t0 = time.perf_counter()
                with tenant_transaction(conn, slug) as t:
                    t.execute("SELECT count(*) FROM users")
                times.append((time.perf_counter() - t0) * 1000)

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    time.sleep(1.0)  # the connection's first transaction pays its membership list once
    times.clear()
    for i in range(sample):
        tenants.provision(ctx, ACTOR, f"d{tag}_{i}", f"Data plane {i}", "team")
    stop.set()
    worker.join()
    return len(times), nearest_rank(times, 99), max(times)


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def schema_dump(server: embedded.EmbeddedServer, ctx: AppContext) -> str:
    import subprocess

    with psycopg.connect(ctx.clusters.catalog_url) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    tool = pgtools.find_tool("pg_dump", major)
    conninfo, env = pgtools.connection_args(ctx.clusters.catalog_url)
    t0 = time.perf_counter()
    result = subprocess.run([str(tool), "--schema-only", "--no-password", f"--dbname={conninfo}", "--file=/dev/null"],
                            capture_output=True, text=True, env=env, check=False, timeout=1800)
    if result.returncode == 0:
        return f"{time.perf_counter() - t0:.1f} s"
    return "fails: " + (result.stderr.strip().splitlines() or ["?"])[-1][:80]


def checkpoint(server: embedded.EmbeddedServer, ctx: AppContext, raw: psycopg.Connection, n: int,
               sample: int) -> dict:
    tag = f"{n}_{int(time.time()) % 100000}"
    print(f"checkpoint {n:,}: provisioning, project vs raw ({sample} each)", flush=True)
    project_ms, raw_ms = provisioning(ctx, raw, tag, sample)
    print("  data plane during provisioning", flush=True)
    txs, p99, worst = data_plane_during_provisioning(ctx, raw, tag, sample)
    print("  verify-schemas, reconcile", flush=True)
    verify_s, _ = timed(lambda: drift.verify(ctx, ACTOR))
    reconcile_s, _ = timed(lambda: reconcile.find_drift(ctx, datetime.now(UTC)))
    print("  tenants list, pg_dump --schema-only", flush=True)
    list_s, listed = timed(lambda: json.dumps([record(t) for t in tenants.list_tenants(ctx, ACTOR)], default=str))
    dump = schema_dump(server, ctx)
    row = {"n": n, "project_ms": project_ms, "raw_ms": raw_ms, "dp_txs": txs, "dp_p99_ms": p99,
           "dp_worst_ms": worst, "verify_s": verify_s, "reconcile_s": reconcile_s, "list_s": list_s,
           "list_mb": len(listed) / 1e6, "dump": dump}
    print(f"  {row}", flush=True)
    return row


def markdown_table(rows: list[dict], lines: list[tuple[str, Callable[[dict], str]]]) -> None:
    """One column per checkpoint (N tenants), one line per figure."""
    print("| N tenants | " + " | ".join(f"{r['n']:,}" for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for label, cell in lines:
        print(f"| {label} | " + " | ".join(cell(r) for r in rows) + " |")


def print_table(rows: list[dict], engine: str) -> None:
    print(f"\nPostgreSQL: {engine}")
    lines = [
        ("provision, ms/tenant (median)", lambda r: f"{r['project_ms']:.0f}"),
        ("raw SQL, same template", lambda r: f"{r['raw_ms']:.0f}"),
        ("project / raw", lambda r: f"{r['project_ms'] / r['raw_ms']:.2f}x"),
        ("data plane during provisioning: worst tx, ms", lambda r: f"{r['dp_worst_ms']:.0f}"),
        ("data plane: p99 tx, ms (txs)", lambda r: f"{r['dp_p99_ms']:.1f} ({r['dp_txs']})"),
        ("verify-schemas, s", lambda r: f"{r['verify_s']:.1f}"),
        ("reconcile (catalog vs cluster), s", lambda r: f"{r['reconcile_s']:.1f}"),
        ("tenants list as JSON: s (MB)", lambda r: f"{r['list_s']:.1f} ({r['list_mb']:.1f})"),
        ("pg_dump --schema-only of the database", lambda r: r["dump"]),
    ]
    markdown_table(rows, lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--to", type=int, default=20_000)
    parser.add_argument("--checkpoints", default="2000,10000,20000")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data" / "fleet-scale")
    parser.add_argument("--engine", default="binaries", help="binaries (Debian's PostgreSQL), pgserver or auto")
    parser.add_argument("--sample", type=int, default=30, help="tenants per measurement (default 30)")
    args = parser.parse_args()
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if int(c) <= args.to})
    args.data_dir.mkdir(parents=True, exist_ok=True)
    results_path = args.data_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else []
    server = embedded.start(args.data_dir, engine=args.engine)
    ctx = open_context(server)
    raw = psycopg.connect(ctx.clusters.catalog_url, autocommit=True)
    version = raw.execute("SHOW server_version").fetchone()[0]
    done = {r["n"] for r in results}
    try:
        for n in checkpoints:
            if n in done:
                continue
            print(f"growing to {n:,} tenants (have {fleet_size(raw):,})", flush=True)
            grow(raw, n)
            results.append(checkpoint(server, ctx, raw, n, args.sample))
            results_path.write_text(json.dumps(results, indent=1))
    finally:
        raw.close()
        ctx.close()
        print_table(sorted(results, key=lambda r: r["n"]), version)
        server.stop()


if __name__ == "__main__":
    main()

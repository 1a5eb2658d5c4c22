"""A fleet grown to N tenants on one PostgreSQL, measured at checkpoints (issue 19).

    .venv/bin/python bench/fleet_scale.py [--to 20000] [--checkpoints 2000,10000,20000]
        [--data-dir .data/fleet-scale] [--engine binaries|pgserver|auto] [--sample 30]

Resumable: the server and its catalog live under --data-dir and are reused, the fleet grows from
what is there, and figures already taken are kept in results.json there; run it again to go on
(growth to 20,000 takes a while; stop it with Ctrl-C at any point).

Layout: as the project's own default, the catalog in database `fleet_scale` and the default
cluster's tenant schemas in `fleet_scale_tenants` (docs/operations.md "The default cluster"); a data
dir grown before that split keeps its tenants in the catalog's database and is measured as it is.

Growth uses the template's own DDL (role, schema, tables, grants) with the catalog rows, 100
tenants per transaction: the cheapest way to get there, not what is measured. At each checkpoint:
- provision: the project (`tenants.provision`) beside raw SQL (the same role/schema/template/grants
  script in one transaction), alternating one tenant at a time (this machine's speed drifts);
- data plane: the worst and p99 tenant transaction (SET LOCAL ROLE … SELECT) while the project
  provisions --sample tenants, of two loops side by side: the project's data plane (a connection
  per data-plane login, each transaction on its tenant's login; docs/architecture.md "Data-plane
  logins") and, for comparison, one login member of every tenant role (the design before);
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

from control_plane.adapters import tenant_ddl  # noqa: E402
from control_plane.adapters.clusters import ClusterConnections  # noqa: E402
from control_plane.adapters.tenant_context import tenant_transaction  # noqa: E402
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
from control_plane.tenant_schema import template  # noqa: E402

DATABASE = "fleet_scale"
TENANTS_DATABASE = f"{DATABASE}_tenants"
ONE_LOGIN = "bench_one_login"  # the data plane before: one login, a member of every tenant role
BATCH = 100
ACTOR = system_actor("bench")


def nearest_rank(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), -(-len(ordered) * pct // 100)) - 1)]


def open_context(server: embedded.EmbeddedServer, split: bool = True) -> AppContext:
    """The project's context on the bench's catalog; `split`: the default cluster in a database of
    its own (unless the data dir predates the split), else in the catalog's database."""
    with psycopg.connect(privileged.privileged_conninfo(server.url("postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    url = server.url(DATABASE)
    engine = make_engine(url, pool_size=4)
    migrate.ensure_current(engine)
    settings = Settings.from_env({})
    # None: a data dir grown before the split, whose catalog database holds the tenants.
    tenants_url = embedded.tenant_database(server, DATABASE, TENANTS_DATABASE) if split else None
    return AppContext(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                      clusters=ClusterConnections(url, default_url=tenants_url), aws=AwsClients(settings),
                      catalog_url=url)


def fleet_size(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM control_plane.tenants").fetchone()[0]


def grow(catalog: psycopg.Connection, tenants_db: psycopg.Connection, target: int) -> None:
    """Tenants up to `target`: the DDL in the tenants' database (committed first, as the project
    provisions on a cluster of its own; the same connection when they share one), the rows in the
    catalog's."""
    have = fleet_size(catalog)
    started, first = time.monotonic(), have
    while have < target:
        slugs = [f"g{i:06d}" for i in range(have, min(have + BATCH, target))]
        with tenants_db.transaction():
            tenants_db.execute(sql.Composed([tenant_ddl.provision_script(s) for s in slugs]))  # version 1, as recorded
        with catalog.transaction():
            catalog.execute(
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
            script = template.provision_script(f"r{tag}_{i}")  # the service's script, latest version
            t0 = time.perf_counter()
            with raw.transaction():  # on the tenants' database, as the project's DDL
                raw.execute(script)
            plain.append((time.perf_counter() - t0) * 1000)

        for step in ((via_project, via_raw) if i % 2 == 0 else (via_raw, via_project)):
            step()
    return statistics.median(project), statistics.median(plain)


def one_login(tenants_db: psycopg.Connection) -> None:
    """The design before (docs/architecture.md "Data-plane logins"): one NOINHERIT login granted
    every tenant role, kept up to date for the comparison loop."""
    tenants_db.execute(sql.SQL("DO $b$ BEGIN CREATE ROLE {} LOGIN NOINHERIT; EXCEPTION WHEN duplicate_object "
                               "THEN NULL; END $b$").format(sql.Identifier(ONE_LOGIN)))
    missing = [r for (r,) in tenants_db.execute(  # pg_auth_members: pg_has_role would rebuild this
        # session's membership list, the very cost measured
        "SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.rolname LIKE 'tenant\\_%%' AND NOT r.rolcanlogin "
        "AND NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles l ON l.oid = m.member "
        "WHERE m.roleid = r.oid AND l.rolname = %s)", (ONE_LOGIN,))]
    if missing:
        tenants_db.execute(sql.SQL("GRANT {} TO {}").format(sql.SQL(", ").join(map(sql.Identifier, missing)),
                                                           sql.Identifier(ONE_LOGIN)))


def data_plane_during_provisioning(ctx: AppContext, catalog: psycopg.Connection, tenants_db: psycopg.Connection,
                                   tag: str, sample: int) -> dict[str, tuple[int, float, float]]:
    """{loop: (transactions, p99 ms, worst ms)} of the two data-plane loops while `sample` tenants
    are provisioned: "logins" (the project's, a connection per login) and "one" (one login)."""
    one_login(tenants_db)
    stop = threading.Event()
    times: dict[str, list[float]] = {"logins": [], "one": []}
    grown = [r[0] for r in catalog.execute("SELECT slug FROM control_plane.tenants WHERE slug LIKE 'g%%' "
                                           "ORDER BY random() LIMIT 1000")]

    def loop(name: str, login_of: Callable[[str], str]) -> None:
        rng = random.Random(7)
        conns: dict[str, psycopg.Connection] = {}
        try:
            while not stop.is_set():
                slug = rng.choice(grown)
                login = login_of(slug)
                if login not in conns:  # opened once, as a pool keeps them; not timed
                    conns[login] = psycopg.connect(ctx.clusters.data_plane_conninfo(None, login), autocommit=True)
                t0 = time.perf_counter()
                with tenant_transaction(conns[login], slug) as t:
                    t.execute("SELECT count(*) FROM users")
                times[name].append((time.perf_counter() - t0) * 1000)
        finally:
            for conn in conns.values():
                conn.close()

    ctx.clusters.pool(None)  # the logins made and given their tenants, as a running app has them
    workers = [threading.Thread(target=loop, args=("logins", tenant_ddl.data_plane_login), daemon=True),
               threading.Thread(target=loop, args=("one", lambda _slug: ONE_LOGIN), daemon=True)]
    for worker in workers:
        worker.start()
    time.sleep(3.0)  # every connection opened and its membership list paid once
    for series in times.values():
        series.clear()
    for i in range(sample):
        slug = f"d{tag}_{i}"
        tenants.provision(ctx, ACTOR, slug, f"Data plane {i}", "team")
        # the design before granted each new tenant to its one login
        tenants_db.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(tenant_ddl.role_name(slug)),
                                                           sql.Identifier(ONE_LOGIN)))
    stop.set()
    for worker in workers:
        worker.join()
    return {name: (len(series), nearest_rank(series, 99), max(series)) for name, series in times.items()}


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def schema_dump(server: embedded.EmbeddedServer, ctx: AppContext) -> str:
    """`pg_dump --schema-only` of the tenants' database (the catalog's, before the split)."""
    import subprocess

    url = ctx.clusters.url_for(None)
    with psycopg.connect(url) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    tool = pgtools.find_tool("pg_dump", major)
    conninfo, env = pgtools.connection_args(url)
    t0 = time.perf_counter()
    result = subprocess.run([str(tool), "--schema-only", "--no-password", f"--dbname={conninfo}", "--file=/dev/null"],
                            capture_output=True, text=True, env=env, check=False, timeout=1800)
    if result.returncode == 0:
        return f"{time.perf_counter() - t0:.1f} s"
    return "fails: " + (result.stderr.strip().splitlines() or ["?"])[-1][:80]


def checkpoint(server: embedded.EmbeddedServer, ctx: AppContext, catalog: psycopg.Connection,
               tenants_db: psycopg.Connection, n: int, sample: int) -> dict:
    tag = f"{n}_{int(time.time()) % 100000}"
    print(f"checkpoint {n:,}: provisioning, project vs raw ({sample} each)", flush=True)
    project_ms, raw_ms = provisioning(ctx, tenants_db, tag, sample)
    print("  data plane during provisioning", flush=True)
    loops = data_plane_during_provisioning(ctx, catalog, tenants_db, tag, sample)
    txs, p99, worst = loops["logins"]
    one_txs, one_p99, one_worst = loops["one"]
    print("  verify-schemas, reconcile", flush=True)
    verify_s, _ = timed(lambda: drift.verify(ctx, ACTOR))
    reconcile_s, _ = timed(lambda: reconcile.find_drift(ctx, datetime.now(UTC)))
    print("  tenants list, pg_dump --schema-only", flush=True)
    list_s, listed = timed(lambda: json.dumps([record(t) for t in tenants.list_tenants(ctx, ACTOR)], default=str))
    dump = schema_dump(server, ctx)
    row = {"n": n, "project_ms": project_ms, "raw_ms": raw_ms, "dp_txs": txs, "dp_p99_ms": p99,
           "dp_worst_ms": worst, "one_txs": one_txs, "one_p99_ms": one_p99, "one_worst_ms": one_worst,
           "verify_s": verify_s, "reconcile_s": reconcile_s, "list_s": list_s,
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
        ("… one login for every tenant (before): worst tx, ms",
         lambda r: f"{r['one_worst_ms']:.0f}" if "one_worst_ms" in r else "–"),
        ("… one login: p99 tx, ms (txs)",
         lambda r: f"{r['one_p99_ms']:.1f} ({r['one_txs']})" if "one_p99_ms" in r else "–"),
        ("verify-schemas, s", lambda r: f"{r['verify_s']:.1f}"),
        ("reconcile (catalog vs cluster), s", lambda r: f"{r['reconcile_s']:.1f}"),
        ("tenants list as JSON: s (MB)", lambda r: f"{r['list_s']:.1f} ({r['list_mb']:.1f})"),
        ("pg_dump --schema-only of the tenants' database", lambda r: r["dump"]),
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
    tenants_db = psycopg.connect(ctx.clusters.url_for(None), autocommit=True)
    version = raw.execute("SHOW server_version").fetchone()[0]
    layout = "shared" if ctx.clusters.shares_catalog(None) else "split"
    done = {r["n"] for r in results}
    try:
        for n in checkpoints:
            if n in done:
                continue
            print(f"growing to {n:,} tenants (have {fleet_size(raw):,})", flush=True)
            grow(raw, tenants_db, n)
            results.append({**checkpoint(server, ctx, raw, tenants_db, n, args.sample), "layout": layout})
            results_path.write_text(json.dumps(results, indent=1))
    finally:
        raw.close()
        tenants_db.close()
        ctx.close()
        print_table(sorted(results, key=lambda r: r["n"]), f"{version}, layout {layout}")
        server.stop()


if __name__ == "__main__":
    main()

"""The data plane's first transaction after a role change, as the fleet grows (issue 19).

    .venv/bin/python bench/data_plane_roles.py [--sizes 2000,10000,20000] [--engines binaries,pgserver]

PostgreSQL caches, per connection, the list of roles the session's user is a member of; any change
of roles or memberships anywhere on the server (a provision) throws every connection's cache away,
and the next SET ROLE rebuilds it. The data-plane login is a member of every tenant role, so the
rebuild walks N roles. This prints, for N tenant roles, the time of a data-plane transaction
(SET LOCAL ROLE + SET LOCAL search_path + SELECT 1): steady, and the first one after a role change,
median and worst over several changes, for each PostgreSQL engine found on the machine (Debian's
binaries and the pgserver wheel carry different major versions). Only roles are made (no schemas):
the cost measured is the membership cache's, nothing else.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control_plane.db import embedded  # noqa: E402

LOGIN = "bench_data_plane"
CHANGES = 7


def grow(admin: psycopg.Connection, have: int, want: int) -> None:
    """Roles r_<have>..r_<want-1>, each granted to the NOINHERIT data-plane login, in batches."""
    for start in range(have, want, 1000):
        names = [f"bench_tenant_{i}" for i in range(start, min(start + 1000, want))]
        with admin.transaction():
            admin.execute(sql.SQL("; ").join(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(n))
                                             for n in names))
            admin.execute(sql.SQL("GRANT {} TO {}").format(sql.SQL(", ").join(map(sql.Identifier, names)),
                                                          sql.Identifier(LOGIN)))


def tenant_tx(conn: psycopg.Connection, role: str) -> float:
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}; SET LOCAL search_path TO pg_catalog, pg_temp; SELECT 1")
                     .format(sql.Identifier(role)))
    return (time.perf_counter() - started) * 1000


def measure(server: embedded.EmbeddedServer, sizes: list[int]) -> list[tuple[int, float, float, float]]:
    admin = psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres", dbname="postgres",
                            autocommit=True)
    admin.execute(f"CREATE ROLE {LOGIN} LOGIN NOINHERIT")
    data = psycopg.connect(host=str(server.socket_dir), port=server.port, user=LOGIN, dbname="postgres",
                           autocommit=True)
    rows, have = [], 0
    for n in sizes:
        grow(admin, have, n)
        have = n
        tenant_tx(data, "bench_tenant_0")
        steady = statistics.median(tenant_tx(data, f"bench_tenant_{i % n}") for i in range(50))
        after = []
        for k in range(CHANGES):
            admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(f"bench_extra_{n}_{k}")))
            after.append(tenant_tx(data, f"bench_tenant_{k}"))
        rows.append((n, steady, statistics.median(after), max(after)))
        print(f"  N={n:>6}: steady {steady:7.2f} ms, first after a role change median "
              f"{statistics.median(after):8.2f} ms, worst {max(after):8.2f} ms", flush=True)
    data.close()
    admin.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,10000,20000")
    parser.add_argument("--engines", default="binaries,pgserver")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    for engine in args.engines.split(","):
        data_dir = Path(tempfile.mkdtemp(prefix=f"cp-bench-roles-{engine}-"))
        try:
            server = embedded.start(data_dir, engine=engine)
        except Exception as exc:  # an engine missing here is reported, not fatal
            print(f"{engine}: not available ({exc})")
            continue
        try:
            with psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres",
                                 dbname="postgres") as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
            print(f"{engine}: PostgreSQL {version}", flush=True)
            results[f"{engine} (PostgreSQL {version})"] = measure(server, sizes)
        finally:
            server.stop()
    print("\n| engine | N roles | steady tx, ms | first tx after a role change: median, ms | worst, ms |")
    print("|---|---|---|---|---|")
    for name, rows in results.items():
        for n, steady, median, worst in rows:
            print(f"| {name} | {n:,} | {steady:.2f} | {median:.2f} | {worst:.2f} |")


if __name__ == "__main__":
    main()

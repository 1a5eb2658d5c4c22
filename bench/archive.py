"""Archive + verify + restore of a tenant with 100,000 rows (embedded PostgreSQL 16, S3 on a moto
server), next to a plain `pg_dump -Fc -n SCHEMA` + `pg_restore` into a fresh database of the same
schema. Variants alternate, twice each.

    .venv/bin/python -m bench.archive [--rows 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from bench.aws_common import catalog, moto
from control_plane.archive import dumps
from control_plane.archive import service as archive
from control_plane.auth.permissions import system_actor
from control_plane.services import tenants


def fill(url: str, slug: str, rows: int) -> None:
    users, tasks = rows // 5, rows // 2
    comments = rows - users - tasks - 2 - 1
    s = sql.Identifier(f"tenant_{slug}")
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("INSERT INTO {s}.users (email, full_name) SELECT 'u' || g || '@x.io', 'User ' || g "
                             "FROM generate_series(1, %s) g").format(s=s), (users,))
        conn.execute(sql.SQL("INSERT INTO {s}.teams (name) VALUES ('a'), ('b')").format(s=s))
        conn.execute(sql.SQL("INSERT INTO {s}.projects (team_id, name) VALUES (1, 'p')").format(s=s))
        conn.execute(sql.SQL("INSERT INTO {s}.tasks (project_id, assignee_id, title) SELECT 1, 1 + g %% %s, "
                             "'task number ' || g FROM generate_series(1, %s) g").format(s=s), (users, tasks))
        conn.execute(sql.SQL("INSERT INTO {s}.comments (task_id, author_id, body) SELECT 1 + g %% %s, 1, "
                             "repeat('lorem ipsum ', 5) FROM generate_series(1, %s) g").format(s=s), (tasks, comments))
        conn.commit()


def plain(url: str, slug: str, bin_dir) -> tuple[float, int]:
    """pg_dump -Fc -n | pg_restore into a fresh database."""
    from control_plane.archive import pgtools

    with psycopg.connect(url) as conn:
        major = dumps.server_major(conn)
    conninfo, env = pgtools.connection_args(url)
    target = f"bench_plain_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
    target_info = conninfo.replace(f"dbname={psycopg.conninfo.conninfo_to_dict(url)['dbname']}", f"dbname={target}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plain.dump"
        started = time.perf_counter()
        pgtools.run([str(pgtools.find_tool("pg_dump", major, bin_dir)), "-Fc", f"--schema=tenant_{slug}",
                     f"--file={out}", f"--dbname={conninfo}"], env, "pg_dump")
        pgtools.run([str(pgtools.find_tool("pg_restore", major, bin_dir)), "--no-owner", "--no-acl",
                     f"--dbname={target_info}", str(out)], env, "pg_restore")
        elapsed = time.perf_counter() - started
        size = out.stat().st_size
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(target)))
    return elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    ctx = catalog()
    moto(ctx)
    ctx.aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    admin = system_actor("bench")
    slug = "benchbig"
    tenants.provision(ctx, admin, slug, "Bench", "team")
    url = ctx.clusters.catalog_url
    fill(url, slug, args.rows)
    with psycopg.connect(url) as conn:
        counts = dumps.table_counts(conn, f"tenant_{slug}")
        size = conn.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                            (f"tenant_{slug}",)).fetchone()[0]
    print(f"tenant {slug}: {sum(counts.values()):,} rows {counts}, {size} on disk")
    bin_dir = ctx.embedded_server.bin_dir if ctx.embedded_server else None
    for n in range(2):
        started = time.perf_counter()
        archive.archive_tenant(ctx, admin, slug)
        archived = time.perf_counter() - started
        with ctx.session_factory() as session:
            from control_plane.db.models import Tenant

            uri = session.query(Tenant.archive_uri).filter(Tenant.slug == slug).scalar()
        bucket, key = uri[5:].split("/", 1)
        dump_size = ctx.aws.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"]
        started = time.perf_counter()
        archive.restore_tenant(ctx, admin, slug)
        restored = time.perf_counter() - started
        print(f"round {n + 1} archive (dump + S3 upload + verify in scratch schema + drop): {archived:.2f} s, "
              f"restore: {restored:.2f} s, total {archived + restored:.2f} s, dump {dump_size / 1e6:.2f} MB")
        elapsed, plain_size = plain(url, slug, bin_dir)
        print(f"round {n + 1} plain pg_dump -Fc -n | pg_restore (new database): {elapsed:.2f} s, "
              f"dump {plain_size / 1e6:.2f} MB")
    ctx.close()


if __name__ == "__main__":
    main()

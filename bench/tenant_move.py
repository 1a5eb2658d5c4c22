"""Moving a tenant with ~100,000 rows to another cluster while a writer commits ~200 small
transactions a second (issue 12, "Performance"; docs/moves.md "Performance").

    .venv/bin/python bench/tenant_move.py [--rows 100000] [--rate 200] [--after 3]

Two private embedded PostgreSQL servers in temporary folders (both with logical replication on,
as every embedded server): the catalog and cluster `default` on the first, cluster `bench-b` on
the second (its URL in CP_CLUSTER_URL_BENCH_B). A tenant is provisioned on `default` and filled; a
writer thread commits one small INSERT per transaction at --rate through the data plane
(tenant_session on the pool of the cluster the catalog names for the tenant, read from the catalog
before every transaction, as the app does), retries whatever fails, and logs every id it saw
committed with its commit time. The online move runs under it; the writer goes on --after seconds,
then stops and every logged id is looked up on the target (lost = ids not there).

Printed: rows, the writer's achieved rate, writes blocked (the move record's writes_blocked_ms,
and the longest gap between two commits the writer saw), every step's time, the total move time;
then a plain `pg_dump -Fc -n SCHEMA | pg_restore` of the same schema (its retained copy on the
source) into a fresh database on the second server — the time writes would be blocked offline —
and an offline move (`--offline`) of a second tenant filled alike, under the same writer.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.archive import fill  # noqa: E402
from bench.aws_common import catalog  # noqa: E402
from bench.provisioning import fresh_database  # noqa: E402
from control_plane.adapters.clusters import libpq_url  # noqa: E402
from control_plane.adapters.tenant_context import tenant_session  # noqa: E402
from control_plane.archive import pgtools  # noqa: E402
from control_plane.auth.permissions import system_actor  # noqa: E402
from control_plane.context import AppContext  # noqa: E402
from control_plane.db import embedded  # noqa: E402
from control_plane.db.models import Cluster, Tenant  # noqa: E402
from control_plane.domain.slugs import schema_name  # noqa: E402
from control_plane.errors import ControlPlaneError  # noqa: E402
from control_plane.moves import service as moves  # noqa: E402
from control_plane.moves.ledger import MoveView  # noqa: E402
from control_plane.moves.service import MoveOptions  # noqa: E402
from control_plane.services import clusters, tenants  # noqa: E402

URL_ENV = "CP_CLUSTER_URL_BENCH_B"
TARGET = "bench-b"


class Writer:
    """One small transaction at a time, paced to `rate` a second, on the cluster the catalog names
    for the tenant at that moment; every id seen committed is logged with its commit time."""

    def __init__(self, ctx: AppContext, slug: str, rate: float, threads: int = 1) -> None:
        self.ctx, self.slug, self.period = ctx, slug, threads / rate  # each thread's share of the rate
        self.log: list[tuple[int, float]] = []  # list.append is atomic: the threads share it
        self.errors: dict[str, int] = {}
        self.started = self.stopped = 0.0
        self._stop, self._lock = threading.Event(), threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"bench-writer-{i}", daemon=True)
                         for i in range(threads)]

    def _cluster_env(self) -> str | None:
        with self.ctx.session_factory() as session:
            return session.scalar(select(Cluster.url_env).join(Tenant, Tenant.cluster_name == Cluster.name)
                                  .where(Tenant.slug == self.slug))

    def _run(self) -> None:
        due = time.monotonic()
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                pool = self.ctx.clusters.pool(self._cluster_env(), self.slug)
                with tenant_session(pool, self.slug, statement_timeout_ms=5000) as conn:
                    new_id = conn.execute("INSERT INTO events (kind, payload) VALUES ('bench', "
                                          "jsonb_build_object('n', %s)) RETURNING id", (n,)).fetchone()[0]
                self.log.append((new_id, time.monotonic()))  # after the block: committed
            except (psycopg.Error, ControlPlaneError) as exc:  # blocked at the cut-over, session ended: retry
                with self._lock:
                    kind = type(exc).__name__
                    self.errors[kind] = self.errors.get(kind, 0) + 1
            due += self.period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -self.period:
                due = time.monotonic()  # fell behind (a slow transaction): no burst to catch up

    def start(self) -> Writer:
        self.started = time.monotonic()
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
        self.stopped = time.monotonic()

    def wait_commits(self, count: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.log) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"the writer committed only {len(self.log)} transactions in {timeout_s:g} s "
                                 f"(errors: {self.errors})")
            time.sleep(0.05)

    def rate(self) -> float:
        return len(self.log) / max(self.stopped - self.started, 1e-9)

    def rate_between(self, start: float, end: float) -> float:
        return sum(1 for _, t in self.log if start <= t < end) / max(end - start, 1e-9)

    def longest_gap_ms(self) -> float:
        times = [t for _, t in self.log]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0) * 1000


def lost_writes(ctx: AppContext, slug: str, writer: Writer) -> tuple[int, int]:
    """(ids the writer saw committed that are not on the target, duplicate ids in its log)."""
    ids = [i for i, _ in writer.log]
    with ctx.clusters.connect(URL_ENV, autocommit=True) as conn:
        found = {r[0] for r in conn.execute(
            sql.SQL("SELECT id FROM {} WHERE id = ANY(%s)").format(sql.Identifier(schema_name(slug), "events")),
            (ids,))}
    return len(set(ids) - found), len(ids) - len(set(ids))


def row_count(conn: psycopg.Connection, schema: str) -> int:
    tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))]
    return sum(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, t))).fetchone()[0]
               for t in tables)


def moved_under_writer(ctx: AppContext, slug: str, options: MoveOptions, args: argparse.Namespace
                       ) -> tuple[MoveView, float, Writer]:
    admin = system_actor("bench")
    writer = Writer(ctx, slug, args.rate, args.threads).start()
    writer.wait_commits(int(args.rate))  # about a second of writes before the move
    began = time.monotonic()
    move = moves.start(ctx, admin, slug, TARGET, options)
    ended = time.monotonic()
    time.sleep(args.after)  # the writer goes on, on the target
    writer.stop()
    blocked_s = (move.writes_blocked_ms or 0) / 1000
    during = writer.rate_between(began, ended) * (ended - began) / max(ended - began - blocked_s, 1e-9)
    print(f"  writer tx/s before the move {writer.rate_between(writer.started, began):.0f}, during it (writes "
          f"not blocked) {during:.0f}, after it {writer.rate_between(ended, writer.stopped):.0f}")
    return move, ended - began, writer


def plain_dump_restore(source_url: str, schema: str, target_admin_url: str, bin_dir: Path | None) -> float:
    """`pg_dump -Fc -n SCHEMA | pg_restore` into a fresh database: the whole offline copy."""
    target_url = libpq_url(fresh_database(target_admin_url))
    with psycopg.connect(source_url) as conn:
        major = conn.info.server_version // 10000
    source_info, env = pgtools.connection_args(source_url)
    target_info, _ = pgtools.connection_args(target_url)
    began = time.perf_counter()
    dump = pgtools.popen([str(pgtools.find_tool("pg_dump", major, bin_dir)), "-Fc", f"--schema={schema}",
                          f"--dbname={source_info}"], env, stdout=subprocess.PIPE)
    restore = pgtools.popen([str(pgtools.find_tool("pg_restore", major, bin_dir)), "--no-owner", "--no-acl",
                             "--exit-on-error", f"--dbname={target_info}"], env, stdin=dump.stdout,
                            stderr=subprocess.PIPE)
    assert dump.stdout is not None
    dump.stdout.close()  # pg_restore holds the pipe now
    _, err = restore.communicate()
    if dump.wait() != 0 or restore.returncode != 0:
        raise SystemExit(f"pg_dump | pg_restore failed: {err.decode(errors='replace').strip()[-300:]}")
    elapsed = time.perf_counter() - began
    with psycopg.connect(target_url) as conn:
        restored = row_count(conn, schema)
    print(f"  pg_dump | pg_restore: {restored:,} rows of {schema} restored")
    return elapsed


def steps_line(move: MoveView) -> str:
    return ", ".join(f"{s['step']} {s['ms']}" for s in move.steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per tenant (default 100000)")
    parser.add_argument("--rate", type=float, default=200.0, help="writer transactions a second (default 200)")
    parser.add_argument("--threads", type=int, default=4,
                        help="writer threads sharing --rate, one transaction at a time each (default 4: "
                             "one alone falls short of 200 tx/s on a busy 2-core machine)")
    parser.add_argument("--after", type=float, default=3.0, help="seconds the writer goes on after a move")
    args = parser.parse_args()

    ctx = catalog()
    assert ctx.embedded_server is not None
    second_dir = Path(tempfile.mkdtemp(prefix="cp-bench-b-"))
    server_b = embedded.start(second_dir, engine=ctx.embedded_server.engine)
    try:
        run(ctx, server_b, args)
    finally:
        ctx.close()
        server_b.stop()
        ctx.embedded_server.stop()
        shutil.rmtree(second_dir, ignore_errors=True)
        shutil.rmtree(ctx.settings.data_dir, ignore_errors=True)


def run(ctx: AppContext, server_b: embedded.EmbeddedServer, args: argparse.Namespace) -> None:
    admin = system_actor("bench")
    os.environ[URL_ENV] = libpq_url(fresh_database(server_b.url("postgres")))
    clusters.add_cluster(ctx, admin, TARGET, URL_ENV, accepts_tenants=False)
    ctx.clusters.pool(URL_ENV)  # a running app has its pools open already
    source_url = ctx.clusters.catalog_url
    online, offline = "benchmove", "benchoff"
    for slug in (online, offline):
        tenants.provision(ctx, admin, slug, "Bench move", "team")
        fill(source_url, slug, args.rows)
    with psycopg.connect(source_url) as conn:
        rows = row_count(conn, schema_name(online))
        size = conn.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c JOIN "
                            "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                            (schema_name(online),)).fetchone()[0]
    print(f"servers: {ctx.embedded_server.engine} engine; tenant rows: {rows:,} ({size}); writer target "
          f"{args.rate:g} tx/s")

    move, online_s, writer = moved_under_writer(ctx, online, MoveOptions(), args)
    lost, dupes = lost_writes(ctx, online, writer)
    print(f"online move #{move.id} {move.status}: {online_s:.2f} s; steps (ms): {steps_line(move)}")
    print(f"  writer: {len(writer.log):,} committed at {writer.rate():.0f} tx/s, errors retried {writer.errors}; "
          f"lost {lost}, duplicate ids {dupes}")

    plain_s = plain_dump_restore(source_url, move.retained_schema or "", server_b.url("postgres"),
                                 ctx.embedded_server.bin_dir)

    off, offline_s, off_writer = moved_under_writer(ctx, offline, MoveOptions(offline=True), args)
    off_lost, off_dupes = lost_writes(ctx, offline, off_writer)
    print(f"offline move #{off.id} {off.status}: {offline_s:.2f} s; steps (ms): {steps_line(off)}")
    print(f"  writer: {len(off_writer.log):,} committed at {off_writer.rate():.0f} tx/s, errors retried "
          f"{off_writer.errors}; lost {off_lost}, duplicate ids {off_dupes}")

    print()
    print(f"{'variant':<24}{'total s':>9}{'blocked ms':>12}{'client gap ms':>15}{'lost':>6}")
    print(f"{'online move':<24}{online_s:>9.2f}{move.writes_blocked_ms or 0:>12}{writer.longest_gap_ms():>15.0f}"
          f"{lost:>6}")
    print(f"{'pg_dump | pg_restore':<24}{plain_s:>9.2f}{plain_s * 1000:>12.0f}{'-':>15}{'-':>6}")
    print(f"{'offline move':<24}{offline_s:>9.2f}{off.writes_blocked_ms or 0:>12}"
          f"{off_writer.longest_gap_ms():>15.0f}{off_lost:>6}")
    print("blocked ms: the move record's writes_blocked_ms (pg_dump | pg_restore: all of it); client gap: the "
          "longest time between two commits the writer saw; target: online blocked <= 2000 ms, lost 0")


if __name__ == "__main__":
    main()

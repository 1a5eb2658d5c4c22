"""Uptime report and on-call page queries over 30 days × N targets, and storage per day.

    .venv/bin/python bench/uptime_report.py [--targets 2000] [--rounds 3]

Loads what 30 days of minute-by-minute checks leave behind after the roll-up job: hourly roll-ups
for 30 days, daily roll-ups, raw checks for the last 6 hours (more raw history only deepens the
index; reads touch raw checks at the window edges), a few failures and incidents; then times
`uptime report` for 30 days and the Uptime page's queries. Storage per day is measured from the
table sizes per row and scaled to N targets checked every minute. Uses DATABASE_URL's server if
set, else a private embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sweep import catalog  # noqa: E402
from control_plane.adapters.clusters import ClusterConnections  # noqa: E402
from control_plane.auth.permissions import system_actor  # noqa: E402
from control_plane.aws.clients import AwsClients  # noqa: E402
from control_plane.config import Settings  # noqa: E402
from control_plane.context import AppContext  # noqa: E402
from control_plane.db.engine import make_engine, make_session_factory  # noqa: E402
from control_plane.uptime import summary, views  # noqa: E402
from control_plane.uptime.report import report  # noqa: E402
from control_plane.uptime.store import MARK_DAY_COMPLETE, MARK_HOUR_COMPLETE, MARK_RAW_SINCE, write_mark  # noqa: E402
from control_plane.uptime.windows import floor_day, floor_hour  # noqa: E402


def load(ctx: AppContext, targets: int, now: datetime, rng: random.Random) -> None:
    top = floor_hour(now)
    raw_since = top - timedelta(hours=6)
    names = [(f"schema:t{i:05d}", f"t{i:05d}") for i in range(targets)]
    with ctx.session_factory() as session:
        conn = session.connection().connection.driver_connection
        with conn.cursor() as cur:
            with cur.copy("COPY control_plane.check_rollups (target, granularity, bucket_start, tenant_slug, checks,"
                          " ok, p95_latency_ms) FROM STDIN") as copy:
                for name, slug in names:
                    h = floor_day(top - timedelta(days=31))
                    day_checks = day_ok = 0
                    while h < top:
                        failed = 1 if rng.random() < 0.01 else 0
                        copy.write_row((name, "hour", h, slug, 60, 60 - failed, round(rng.uniform(5, 40), 2)))
                        day_checks, day_ok = day_checks + 60, day_ok + 60 - failed
                        h += timedelta(hours=1)
                        if h.hour == 0:
                            copy.write_row((name, "day", h - timedelta(days=1), slug, day_checks, day_ok, 30.0))
                            day_checks = day_ok = 0
            with cur.copy("COPY control_plane.check_results (target, tenant_slug, kind, checked_at, ok, latency_ms)"
                          " FROM STDIN") as copy:
                t = raw_since
                while t < now:
                    for name, slug in names:
                        copy.write_row((name, slug, "schema", t, rng.random() > 0.0005, round(rng.uniform(1, 30), 2)))
                    t += timedelta(minutes=1)
            cur.execute("INSERT INTO control_plane.incidents (target, tenant_slug, opened_at, resolved_at, "
                        "failed_checks) SELECT 'schema:t' || lpad(mod(g, %s)::text, 5, '0'), NULL, "
                        "%s - g * interval '37 minutes', %s - g * interval '37 minutes' + interval '5 minutes', 5 "
                        "FROM generate_series(1, 400) g", (targets, now, now))
        for name, at in ((MARK_RAW_SINCE, raw_since), (MARK_HOUR_COMPLETE, top), (MARK_DAY_COMPLETE, floor_day(top))):
            write_mark(session, name, at)
        session.commit()
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE control_plane.check_results")
        c.exec_driver_sql("VACUUM ANALYZE control_plane.check_rollups")


def bytes_per_row(ctx: AppContext, table: str, where: str = "true") -> float:
    with ctx.engine.connect() as c:
        size = c.exec_driver_sql(f"SELECT pg_total_relation_size('control_plane.{table}')").scalar()
        rows = c.exec_driver_sql(f"SELECT count(*) FROM control_plane.{table} WHERE {where}").scalar()
    return size / max(rows, 1)


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cp-bench-report-"))
    url, server = catalog(tmp)
    try:
        settings = replace(Settings.from_env({"CP_DATA_DIR": str(tmp)}), database_url=url)
        engine = make_engine(url, pool_size=10)
        ctx = AppContext(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                         clusters=ClusterConnections(url), aws=AwsClients(settings), catalog_url=url)
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        load(ctx, args.targets, now, random.Random(1))
        with ctx.engine.connect() as c:
            raw = c.exec_driver_sql("SELECT count(*) FROM control_plane.check_results").scalar()
            rollups = c.exec_driver_sql("SELECT count(*) FROM control_plane.check_rollups").scalar()
        print(f"loaded {rollups:,} roll-ups and {raw:,} raw checks for {args.targets} targets "
              f"in {time.perf_counter() - t0:.1f}s")
        actor = system_actor("bench")
        queries = {
            "uptime report, 30 days (CLI)": lambda: report(ctx, actor, now - timedelta(days=30), now),
            "report, 30 d, unaligned edges": lambda: report(ctx, actor, now - timedelta(days=30, minutes=17),
                                                            now - timedelta(minutes=3)),
            "page: uptime table 24h/7d/30d": lambda: views.uptime_table(ctx, actor, now),
            "page: down now": lambda: views.down_now(ctx, actor, now),
            "page: headline (Overview)": lambda: summary.headline(ctx, actor),
            "page: p95 latency, 24 h": lambda: views.latency_table(ctx, actor, 24, now),
        }
        print(f"{'query':<34}" + "".join(f"{'round ' + str(r + 1):>10}" for r in range(args.rounds)) + "  rows")
        for label, fn in queries.items():
            figures, rows = [], 0
            for _ in range(args.rounds):
                seconds, result = timed(fn)
                figures.append(seconds)
                rows = len(result)
            print(f"{label:<34}" + "".join(f"{s:>9.3f}s" for s in figures) + f"  {rows}")
        print("target: ≤ 1.5 s each")

        raw_row = bytes_per_row(ctx, "check_results")
        rollup_row = bytes_per_row(ctx, "check_rollups")
        per_day_raw = raw_row * args.targets * 1440 / 1e6
        per_day_rollups = rollup_row * args.targets * 25 / 1e6
        retention = settings.raw_check_retention_days
        print(f"storage: {raw_row:.0f} bytes per raw check, {rollup_row:.0f} bytes per roll-up (tables + indexes)")
        print(f"  raw checks written per day, {args.targets} targets every minute: {per_day_raw:,.0f} MB "
              f"(pruned after {retention} days: at most {per_day_raw * (retention + 1):,.0f} MB held)")
        print(f"  kept for good per day (24 hourly + 1 daily roll-up per target): {per_day_rollups:,.1f} MB")
        print(f"  with an endpoint per tenant too (2 targets each): raw {2 * per_day_raw:,.0f} MB/day, "
              f"kept {2 * per_day_rollups:,.1f} MB/day; target ≤ 200 MB/day")
        ctx.close()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()

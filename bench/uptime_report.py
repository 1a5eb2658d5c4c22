"""Storage growth per day of N targets checked every minute, and the uptime report and on-call
page queries over 30 days × N targets.

    .venv/bin/python bench/uptime_report.py [--targets 2000] [--rounds 3] [--raw-days 7]

Storage is measured, not estimated: one day of checks (N targets × 1,440) is written the way the
worker writes it — each minute's checks through the sweep's store call (COPY into recent_checks),
and every hour the `check_rollup` job's work (hourly/daily roll-ups, compaction into hour rows,
pruning) — and the growth is pg_total_relation_size (table + indexes + TOAST) of every raw-check and
roll-up table after the day minus before it, both after VACUUM. The day ends at the wall clock's now.

For the reads, the simulated day's hour rows are then copied back over the earlier raw-retention
days (--raw-days, default 7: the report's incident detection walks all raw history in its window),
on top of 30 days of hourly and daily roll-ups and a few hundred incidents. Uses DATABASE_URL's
server if set, else a private embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sweep import catalog  # noqa: E402
from control_plane.adapters.clusters import ClusterConnections  # noqa: E402
from control_plane.auth.permissions import system_actor  # noqa: E402
from control_plane.aws.clients import AwsClients  # noqa: E402
from control_plane.config import Settings  # noqa: E402
from control_plane.context import AppContext  # noqa: E402
from control_plane.db.engine import make_engine, make_session_factory  # noqa: E402
from control_plane.uptime import raw, summary, views  # noqa: E402
from control_plane.uptime.report import report  # noqa: E402
from control_plane.uptime.rollup import roll_up  # noqa: E402
from control_plane.uptime.store import (  # noqa: E402
    MARK_DAY_COMPLETE,
    MARK_HOUR_COMPLETE,
    MARK_RAW_SINCE,
    CheckRow,
    insert_checks,
    write_mark,
)
from control_plane.uptime.windows import floor_day, floor_hour  # noqa: E402

TABLES = ("check_hours", "recent_checks", "check_targets", "check_rollups")
OLD_BYTES_PER_CHECK = 169  # migration 0005's check_results (row per check, 3 indexes), measured by this bench


def names(targets: int) -> list[tuple[str, str]]:
    return [(f"schema:t{i:05d}", f"t{i:05d}") for i in range(targets)]


def load_rollups(ctx: AppContext, targets: int, day_start: datetime, rng: random.Random) -> None:
    """30 days of hourly and daily roll-ups before the simulated day, and the marks to match."""
    with ctx.session_factory() as session:
        conn = session.connection().connection.driver_connection
        with conn.cursor() as cur:
            with cur.copy("COPY control_plane.check_rollups (target, granularity, bucket_start, tenant_slug, checks,"
                          " ok, p95_latency_ms) FROM STDIN") as copy:
                for name, slug in names(targets):
                    h = floor_day(day_start - timedelta(days=30))
                    day_checks = day_ok = 0
                    while h < day_start:
                        failed = 1 if rng.random() < 0.01 else 0
                        copy.write_row((name, "hour", h, slug, 60, 60 - failed, round(rng.uniform(5, 40), 2)))
                        day_checks, day_ok = day_checks + 60, day_ok + 60 - failed
                        h += timedelta(hours=1)
                        if h.hour == 0:
                            copy.write_row((name, "day", h - timedelta(days=1), slug, day_checks, day_ok, 30.0))
                            day_checks = day_ok = 0
            cur.execute("INSERT INTO control_plane.incidents (target, tenant_slug, opened_at, resolved_at, "
                        "failed_checks) SELECT 'schema:t' || lpad(mod(g, %s)::text, 5, '0'), NULL, "
                        "%s - g * interval '37 minutes', %s - g * interval '37 minutes' + interval '5 minutes', 5 "
                        "FROM generate_series(1, 400) g", (targets, day_start, day_start))
        for name, at in ((MARK_RAW_SINCE, day_start), (MARK_HOUR_COMPLETE, day_start),
                         (MARK_DAY_COMPLETE, floor_day(day_start))):
            write_mark(session, name, at)
        session.commit()


def sizes(ctx: AppContext) -> dict[str, int]:
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for table in TABLES:
            c.exec_driver_sql(f"VACUUM ANALYZE control_plane.{table}")
        return {t: c.exec_driver_sql(f"SELECT pg_total_relation_size('control_plane.{t}')").scalar() for t in TABLES}


def simulate_day(ctx: AppContext, targets: int, day_start: datetime, end: datetime,
                 rng: random.Random) -> tuple[int, list[float]]:
    """Every minute of [day_start, end): one check per target through the sweep's store call;
    every hour the check_rollup job's work. Returns (checks written, roll-up job seconds)."""
    retention = timedelta(days=ctx.settings.raw_check_retention_days)
    targets_list = names(targets)
    written, job_seconds = 0, []
    hour = day_start
    while hour < end:
        with ctx.session_factory() as session:
            minute = hour
            while minute < min(hour + timedelta(hours=1), end):
                rows = []
                for name, slug in targets_list:
                    ok = rng.random() > 0.0005
                    rows.append(CheckRow(name, slug, "schema", minute + timedelta(milliseconds=rng.randint(0, 3000)),
                                         ok, Decimal(rng.randint(100, 3000)) / 100 if ok else None,
                                         None if ok else "no answer within 2s (statement timeout)"))
                written += insert_checks(session, rows)
                minute += timedelta(minutes=1)
            session.commit()
        hour += timedelta(hours=1)
        if hour <= end:
            t0 = time.perf_counter()
            with ctx.session_factory() as session:
                roll_up(session, hour + timedelta(minutes=1), retention)
                session.commit()
            raw.vacuum_recent(ctx.engine)  # as jobs/check_rollup.py does after it
            job_seconds.append(time.perf_counter() - t0)
    return written, job_seconds


def clone_history(ctx: AppContext, day_start: datetime, days: int) -> None:
    """Copy the simulated day's hour rows onto the `days - 1` days before it (for the reads)."""
    clone = text(f"""
        INSERT INTO {raw.HOURS} (target_id, hour_start, failures, checked_at, ok, latency_cms, errors)
        SELECT target_id, hour_start - :shift, failures,
               ARRAY(SELECT x - :shift FROM unnest(checked_at) WITH ORDINALITY AS u(x, i) ORDER BY i),
               ok, latency_cms, errors
          FROM {raw.HOURS} WHERE hour_start >= :a AND hour_start < :b""")
    with ctx.session_factory() as session:
        for back in range(1, days):
            session.execute(clone, {"a": day_start, "b": day_start + timedelta(days=1), "shift": timedelta(days=back)})
        write_mark(session, MARK_RAW_SINCE, day_start - timedelta(days=days - 1))
        session.commit()
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql(f"VACUUM ANALYZE {raw.HOURS}")


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--raw-days", type=int, default=7, help="raw history behind the reads (retention)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cp-bench-report-"))
    url, server = catalog(tmp)
    try:
        settings = replace(Settings.from_env({"CP_DATA_DIR": str(tmp)}), database_url=url)
        engine = make_engine(url, pool_size=10)
        ctx = AppContext(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                         clusters=ClusterConnections(url), aws=AwsClients(settings), catalog_url=url)
        rng = random.Random(1)
        now = datetime.now(UTC)
        day_start = floor_hour(now) - timedelta(days=1)
        t0 = time.perf_counter()
        load_rollups(ctx, args.targets, day_start, rng)
        before = sizes(ctx)
        print(f"loaded 30 days of roll-ups for {args.targets} targets in {time.perf_counter() - t0:.1f}s")

        t0 = time.perf_counter()
        written, job_seconds = simulate_day(ctx, args.targets, day_start, now, rng)
        after = sizes(ctx)
        print(f"simulated {(now - day_start) / timedelta(hours=1):.1f} h: {written:,} checks through the sweep's "
              f"COPY and the hourly check_rollup job in {time.perf_counter() - t0:.0f}s; check_rollup job "
              f"{sum(job_seconds) / len(job_seconds):.2f}s per run on average, {max(job_seconds):.2f}s at most")
        growth = {t: after[t] - before[t] for t in TABLES}
        per_day = (now - day_start) / timedelta(days=1)
        checks_per_day = args.targets * 1440
        hours_per_check = growth["check_hours"] / written
        grown = (growth["check_hours"] + growth["check_rollups"]) / per_day
        print("storage, pg_total_relation_size after VACUUM (tables + indexes + TOAST):")
        print(f"  check_hours    +{growth['check_hours'] / 1e6:8.1f} MB  ({hours_per_check:.1f} bytes per check)")
        print(f"  check_rollups  +{growth['check_rollups'] / 1e6:8.1f} MB  (24 hourly + 1 daily per target)")
        print(f"  check_targets   {after['check_targets'] / 1e6:8.1f} MB  (each target once)")
        print(f"  recent_checks   {after['recent_checks'] / 1e6:8.1f} MB  (last 1-2 h as rows; same size every day)")
        print(f"growth per day, {args.targets} targets checked every minute: {grown / 1e6:,.1f} MB "
              f"(raw {growth['check_hours'] / per_day / 1e6:,.1f} MB kept {settings.raw_check_retention_days} days, "
              f"roll-ups {growth['check_rollups'] / per_day / 1e6:,.1f} MB kept for good); target ≤ 200 MB/day")
        print(f"  with an endpoint per tenant too (2 targets each): {2 * grown / 1e6:,.1f} MB/day "
              f"(scaled; --targets {2 * args.targets} measures it)")
        print(f"  before (0005: a row per check, {OLD_BYTES_PER_CHECK} bytes with indexes): "
              f"{OLD_BYTES_PER_CHECK * checks_per_day / 1e6:,.0f} MB/day of raw checks")

        clone_history(ctx, day_start, args.raw_days)
        actor = system_actor("bench")
        target = names(1)[0][0]
        queries = {
            "uptime report, 30 days (CLI)": lambda: report(ctx, actor, now - timedelta(days=30), now),
            "report, 30 d, unaligned edges": lambda: report(ctx, actor, now - timedelta(days=30, minutes=17),
                                                            now - timedelta(minutes=3)),
            "report, 3 days inside raw": lambda: report(ctx, actor, now - timedelta(days=3, minutes=7),
                                                        now - timedelta(minutes=7)),
            "page: uptime table 24h/7d/30d": lambda: views.uptime_table(ctx, actor, now),
            "page: down now": lambda: views.down_now(ctx, actor, now),
            "page: headline (Overview)": lambda: summary.headline(ctx, actor),
            "page: p95 latency, 24 h": lambda: views.latency_table(ctx, actor, 24, now),
            "page: check history, 24 h": lambda: views.check_history(ctx, actor, target, 24, now),
            "tenant page: last 100 checks": lambda: summary.tenant_recent_checks(ctx, actor, "t00000", 100),
        }
        print(f"reads over 30 days × {args.targets} targets ({args.raw_days} days of raw checks):")
        print(f"{'query':<34}" + "".join(f"{'round ' + str(r + 1):>10}" for r in range(args.rounds)) + "  rows")
        for label, fn in queries.items():
            figures, rows = [], 0
            for _ in range(args.rounds):
                seconds, result = timed(fn)
                figures.append(seconds)
                rows = len(result)
            print(f"{label:<34}" + "".join(f"{s:>9.3f}s" for s in figures) + f"  {rows}")
        print("target: ≤ 1.5 s each")
        ctx.close()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()

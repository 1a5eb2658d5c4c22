"""Hourly and daily roll-ups of raw checks, and pruning of raw checks past retention.

Invariants the readers (windows.py) rely on:
- raw checks exist for every instant at or after mark `raw_since`;
- an hourly roll-up exists for every hour with checks that ends at or before `hour_complete`, and
  equals what the raw checks of that hour (outside maintenance) say while they exist;
- a daily roll-up is the sum of its day's hourly roll-ups, for every day ending by `day_complete`.
Raw checks themselves are compacted into hour rows here too (raw.py); readers do not notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.uptime import raw
from control_plane.uptime.store import (
    MARK_DAY_COMPLETE,
    MARK_HOUR_COMPLETE,
    MARK_RAW_SINCE,
    not_in_maintenance,
    read_marks,
    write_mark,
)
from control_plane.uptime.windows import DAY, HOUR, floor_day, floor_hour

OVERLAP = timedelta(hours=2)  # late checks (a slow sweep, a clock step) land in recent hours
# The instants a check may carry: `uptime import` refuses others. Rows stored before that rule
# (0001-01-01 with a zone east of UTC is year 0 in UTC, 9999-12-31T23:59-01:00 is year 10000) cannot
# even be read into Python; the roll-up leaves them out and counts them instead of failing.
CHECKS_FROM = datetime(2000, 1, 1, tzinfo=UTC)
CHECKS_AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class RollupResult:
    hours: int
    days: int
    pruned: int
    compacted: int = 0
    hour_rows: int = 0
    out_of_range: int = 0

    def summary(self) -> str:
        text = (f"rolled up {self.hours} hourly and {self.days} daily buckets; pruned {self.pruned} raw checks; "
                f"compacted {self.compacted} raw checks into {self.hour_rows} hour rows")
        if self.out_of_range:
            text += (f"; left out {self.out_of_range} raw checks dated before {CHECKS_FROM:%Y-%m-%d} or more than "
                     "a day ahead (stored before imports refused them; delete them from control_plane.recent_checks "
                     "/ check_hours)")
        return text


def _replace_buckets(session: Session, granularity: str, fresh: str, params: dict[str, datetime]) -> int:
    """Make the `granularity` roll-ups with bucket_start in [:a, :b) equal `fresh` (a SELECT of
    target, bucket_start, tenant_slug, checks, ok, p95). Rows that did not change are left alone:
    every run re-rolls the last hours and day, and rewriting identical rows would leave that many
    dead ones behind each hour. Returns how many buckets `fresh` has."""
    return session.execute(text(f"""
        WITH fresh AS MATERIALIZED ({fresh}),
        gone AS (
            DELETE FROM control_plane.check_rollups r
             WHERE r.granularity = '{granularity}' AND r.bucket_start >= :a AND r.bucket_start < :b
               AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.target = r.target AND f.bucket_start = r.bucket_start)),
        written AS (
            INSERT INTO control_plane.check_rollups AS r (target, granularity, bucket_start, tenant_slug, checks,
                                                          ok, p95_latency_ms)
            SELECT f.target, '{granularity}', f.bucket_start, f.tenant_slug, f.checks, f.ok, f.p95 FROM fresh f
            ON CONFLICT (target, granularity, bucket_start) DO UPDATE
               SET tenant_slug = excluded.tenant_slug, checks = excluded.checks, ok = excluded.ok,
                   p95_latency_ms = excluded.p95_latency_ms
             WHERE (r.tenant_slug, r.checks, r.ok, r.p95_latency_ms)
                   IS DISTINCT FROM (excluded.tenant_slug, excluded.checks, excluded.ok, excluded.p95_latency_ms))
        SELECT count(*) FROM fresh"""), params).scalar_one()


def reroll_hours(session: Session, start: datetime, end: datetime) -> int:
    """Recompute the hourly roll-ups of [floor_hour(start), end) from raw checks (which must exist)."""
    start = floor_hour(start)
    if end <= start:
        return 0
    return _replace_buckets(session, "hour", f"""
        SELECT c.target, date_trunc('hour', c.checked_at, 'UTC') AS bucket_start, max(c.tenant_slug) AS tenant_slug,
               count(*) AS checks, count(*) FILTER (WHERE c.ok) AS ok,
               percentile_disc(0.95) WITHIN GROUP (ORDER BY c.latency_ms) AS p95
          FROM {raw.source(':a', ':b')} c
         WHERE {not_in_maintenance('c')}
         GROUP BY 1, 2""", {"a": start, "b": end})


def merge_hours(session: Session, start: datetime, end: datetime) -> int:
    """Fold raw checks older than `raw_since` (an import of old history) into the hourly roll-ups
    they belong to, then drop them: counts add up; the p95 keeps the larger of the two."""
    params = {"a": start, "b": end}
    merged = session.execute(text(f"""
        INSERT INTO control_plane.check_rollups AS r (target, granularity, bucket_start, tenant_slug, checks, ok,
                                                      p95_latency_ms)
        SELECT c.target, 'hour', date_trunc('hour', c.checked_at, 'UTC'), max(c.tenant_slug), count(*),
               count(*) FILTER (WHERE c.ok), percentile_disc(0.95) WITHIN GROUP (ORDER BY c.latency_ms)
          FROM {raw.source(':a', ':b')} c
         WHERE {not_in_maintenance('c')}
         GROUP BY 1, 3
        ON CONFLICT (target, granularity, bucket_start) DO UPDATE
           SET checks = r.checks + excluded.checks, ok = r.ok + excluded.ok,
               p95_latency_ms = GREATEST(r.p95_latency_ms, excluded.p95_latency_ms)"""), params).rowcount
    raw.delete_range(session, start, end)
    return merged


def reroll_days(session: Session, start: datetime, end: datetime) -> int:
    """Recompute the daily roll-ups of [floor_day(start), end) from the hourly ones."""
    start = floor_day(start)
    if end <= start:
        return 0
    return _replace_buckets(session, "day", """
        SELECT target, date_trunc('day', bucket_start, 'UTC') AS bucket_start, max(tenant_slug) AS tenant_slug,
               sum(checks) AS checks, sum(ok) AS ok, percentile_disc(0.95) WITHIN GROUP (ORDER BY p95_latency_ms) AS p95
          FROM control_plane.check_rollups
         WHERE granularity = 'hour' AND bucket_start >= :a AND bucket_start < :b
         GROUP BY 1, 2""", {"a": start, "b": end})


def refresh_range(session: Session, start: datetime, end: datetime) -> None:
    """After raw checks of [start, end) changed (import, maintenance declared): make the roll-ups
    that are already complete agree again."""
    marks = read_marks(session)
    if marks.hour_complete is None:
        return  # nothing rolled up yet; the next roll-up sees everything
    old_end = min(end, marks.raw_since) if marks.raw_since else None
    if old_end is not None and start < old_end:
        merge_hours(session, start, old_end)
    fresh_start = max(start, marks.raw_since) if marks.raw_since else start
    fresh_end = min(floor_hour(end) + HOUR, marks.hour_complete)
    if fresh_start < fresh_end:
        reroll_hours(session, fresh_start, fresh_end)
    if marks.day_complete is not None:
        day_end = min(floor_day(end) + DAY, marks.day_complete)
        reroll_days(session, start, day_end)


def roll_up(session: Session, now: datetime, retention: timedelta) -> RollupResult:
    """The check_rollup job's work: complete hours and days up to `now`, prune raw checks older
    than `retention`, compact raw checks of hours that ended COMPACT_LAG ago. Idempotent; safe to
    run as often as wanted."""
    marks = read_marks(session)
    hour_end = floor_hour(now)
    if marks.hour_complete is not None:
        hour_start = marks.hour_complete - OVERLAP
    else:
        earliest = _earliest_check(session)
        hour_start = floor_hour(earliest) if earliest else hour_end
    hour_start = max(hour_start, CHECKS_FROM)
    if marks.raw_since is not None:
        hour_start = max(hour_start, marks.raw_since)
    hours = reroll_hours(session, hour_start, hour_end) if hour_start < hour_end else 0
    write_mark(session, MARK_HOUR_COMPLETE, hour_end)

    day_end = floor_day(hour_end)
    if marks.day_complete is not None:
        day_start = marks.day_complete - DAY
    else:
        earliest = session.execute(text(
            "SELECT min(bucket_start) FROM control_plane.check_rollups "
            "WHERE granularity = 'hour' AND bucket_start >= :from"), {"from": CHECKS_FROM}).scalar()
        day_start = floor_day(earliest) if earliest else day_end
    days = reroll_days(session, day_start, day_end) if day_start < day_end else 0
    write_mark(session, MARK_DAY_COMPLETE, day_end)

    cutoff = min(floor_hour(now - retention), hour_end)
    pruned = 0
    if marks.raw_since is None or cutoff > marks.raw_since:
        pruned = raw.delete_range(session, None, cutoff)
        write_mark(session, MARK_RAW_SINCE, cutoff)
    compacted, hour_rows = raw.compact(session, hour_end - raw.COMPACT_LAG)
    return RollupResult(hours=hours, days=days, pruned=pruned, compacted=compacted, hour_rows=hour_rows,
                        out_of_range=_out_of_range(session, now + CHECKS_AHEAD))


def _earliest_check(session: Session) -> datetime | None:
    """The first raw check from CHECKS_FROM on (an earlier one may not be readable at all)."""
    return session.execute(text(
        f"SELECT LEAST((SELECT min(checked_at) FROM {raw.RECENT} WHERE checked_at >= :from), "
        f"(SELECT min(hour_start) FROM {raw.HOURS} WHERE hour_start >= :from))"), {"from": CHECKS_FROM}).scalar()


def _out_of_range(session: Session, latest: datetime) -> int:
    """Raw checks dated before CHECKS_FROM or after `latest` (both columns are indexed)."""
    return int(session.execute(text(
        f"SELECT (SELECT count(*) FROM {raw.RECENT} WHERE checked_at < :from OR checked_at > :latest) "
        f"+ (SELECT COALESCE(sum(cardinality(checked_at)), 0) FROM {raw.HOURS} "
        "WHERE hour_start < :from OR hour_start > :latest)"), {"from": CHECKS_FROM, "latest": latest}).scalar_one())

"""Demo check history (uptime area): raw checks for the last hours, hourly roll-ups for the last
week, daily roll-ups before that, and a few incidents, written with COPY so seeding takes seconds.

It writes what the sweep and the roll-up job would have written, and sets the roll-up marks to
match, so every uptime screen reads it exactly as it reads real history.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from control_plane.context import AppContext
from control_plane.core.tenant_view import TenantView
from control_plane.uptime import raw as raw_checks
from control_plane.uptime import targets
from control_plane.uptime.rollup import reroll_days, reroll_hours
from control_plane.uptime.store import (
    MARK_DAY_COMPLETE,
    MARK_HOUR_COMPLETE,
    MARK_RAW_SINCE,
    CheckRow,
    insert_checks,
    write_mark,
)
from control_plane.uptime.windows import DAY, HOUR, floor_day, floor_hour

RAW_HOURS = 6
HOURLY_DAYS = 8
MINUTE = timedelta(minutes=1)
TROUBLED = 3  # tenants that miss the 99.9 % SLO over 30 days (fewer in a demo under 30 tenants)


def seed(ctx: AppContext, tenants: list[TenantView], months: int, rng: random.Random,
         now: datetime | None = None) -> None:
    """Idempotent enough for demo use: called once, after the tenants exist. History ends at `now`."""
    active = [t for t in tenants if t.status == "active"]
    if not active:
        return
    now = now or datetime.now(UTC)
    top = floor_hour(now)
    raw_since = top - RAW_HOURS * HOUR
    hourly_since = floor_day(top - HOURLY_DAYS * DAY)
    history_since = floor_day(top - timedelta(days=min(months, 18) * 30))
    names = [(targets.schema_target(t.slug), t.slug) for t in active] + [(targets.database_target("default"), None)]
    # Nearly every target meets a 99.9 % SLO over 30 days (43 minutes of budget): a background
    # failure rate of 0.005-0.03 % and at most one short outage in those 30 days. A few flaky
    # tenants (TROUBLED, never dozens) fail 0.15-0.3 % of their checks and miss it.
    profile = {name: (rng.lognormvariate(2.3, 0.6), rng.uniform(0.00005, 0.0003)) for name, _ in names}
    tenant_names = sorted(n for n, s in names if s)
    troubled = set(rng.sample(tenant_names, k=min(TROUBLED, len(tenant_names) // 10)))
    for name in troubled:
        profile[name] = (profile[name][0], rng.uniform(0.0015, 0.003))
    for name in rng.sample(sorted(profile), k=min(3, len(profile))):
        profile[name] = (rng.uniform(150, 260), profile[name][1])  # a few slow tenants breach the latency SLO

    incidents: list[tuple[str, str | None, datetime, datetime | None, int]] = []
    raw: list[CheckRow] = []
    t = raw_since
    while t < now:
        for name, slug in names:
            base, _ = profile[name]
            raw.append(CheckRow(name, slug, targets.kind_of(name), t + timedelta(seconds=rng.uniform(0, 5)), True,
                                round(base * rng.lognormvariate(0, 0.3), 2)))
        t += MINUTE
    # One tenant is down right now (an open incident) and one had a short outage this afternoon.
    down_name, blip_name = rng.sample([n for n, s in names if s], k=2) if len(names) > 2 else (names[0][0],) * 2
    raw = _fail_tail(raw, down_name, 6, incidents)
    raw = _fail_window(raw, blip_name, raw_since + 2 * HOUR, 7, incidents)

    hourly, daily = [], []
    slo_since = top - timedelta(days=30)
    for name, slug in names:
        base, flakiness = profile[name]
        outages = 1 if name in (down_name, blip_name) else 0  # those had theirs today
        h = hourly_since
        while h < raw_since:
            failed = _failures(rng, 60, flakiness)
            if rng.random() < 0.0015 and (outages == 0 or name in troubled):  # an incident inside this hour
                outages += 1
                minutes = rng.randint(3, 20)
                opened = h + timedelta(minutes=rng.randint(0, 59 - min(minutes, 59)))
                failed = min(60, failed + minutes)
                incidents.append((name, slug, opened, opened + timedelta(minutes=minutes), minutes))
            hourly.append((name, "hour", h, slug, 60, 60 - failed, _p95(base, rng)))
            h += HOUR
        d = history_since
        while d < hourly_since:
            failed = _failures(rng, 1440, flakiness)
            recent = d >= slo_since - DAY
            if rng.random() < 0.01 and (not recent or outages == 0 or name in troubled):
                outages += 1 if recent else 0
                minutes = rng.randint(3, 40 if not recent else 20)
                opened = d + timedelta(minutes=rng.randint(0, 1400))
                failed += minutes
                incidents.append((name, slug, opened, opened + timedelta(minutes=minutes), minutes))
            daily.append((name, "day", d, slug, 1440, 1440 - min(failed, 1440), _p95(base, rng)))
            d += DAY

    with ctx.session_factory() as session:
        demo_targets = [n for n, _ in names]
        raw_checks.delete_targets(session, demo_targets)
        session.execute(text("DELETE FROM control_plane.check_rollups WHERE target = ANY(:t)"), {"t": demo_targets})
        session.execute(text("DELETE FROM control_plane.incidents WHERE target = ANY(:t)"), {"t": demo_targets})
        insert_checks(session, raw)
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cur, cur.copy(
            "COPY control_plane.check_rollups (target, granularity, bucket_start, tenant_slug, checks, ok, "
            "p95_latency_ms) FROM STDIN"
        ) as copy:
            for row in hourly + daily:
                copy.write_row(row)
        reroll_hours(session, raw_since, top)
        reroll_days(session, hourly_since, floor_day(top))
        for name, mark in ((MARK_RAW_SINCE, raw_since), (MARK_HOUR_COMPLETE, top), (MARK_DAY_COMPLETE, floor_day(top))):
            write_mark(session, name, mark)
        raw_checks.compact(session, top - raw_checks.COMPACT_LAG)  # what the roll-up job leaves behind
        notes = ["Failover of the primary; no data lost.", "Deploy rolled back.", None, None]
        for name, slug, opened, resolved, failed in incidents:
            acked = resolved is not None and rng.random() < 0.6
            session.execute(text(
                "INSERT INTO control_plane.incidents (target, tenant_slug, opened_at, resolved_at, failed_checks, "
                "last_error, acknowledged_by, acknowledged_at, note) VALUES (:target, :slug, :opened, :resolved, "
                ":failed, :error, :by, :at, :note)"),
                {"target": name, "slug": slug, "opened": opened, "resolved": resolved, "failed": failed,
                 "error": "no answer within 2s (statement timeout)", "by": "demo-oncall" if acked else None,
                 "at": opened + timedelta(minutes=2) if acked else None,
                 "note": rng.choice(notes) if acked else None})
        session.commit()


def _failures(rng: random.Random, checks: int, rate: float) -> int:
    expected = checks * rate
    return int(expected) + (1 if rng.random() < expected - int(expected) else 0)


def _p95(base: float, rng: random.Random) -> Decimal:
    return Decimal(str(round(base * rng.uniform(1.6, 2.4), 2)))


def _fail_tail(raw: list[CheckRow], name: str, count: int, incidents: list) -> list[CheckRow]:
    """The last `count` checks of `name` fail: an open incident."""
    positions = [i for i, r in enumerate(raw) if r.target == name][-count:]
    for i in positions:
        r = raw[i]
        raw[i] = CheckRow(r.target, r.tenant_slug, r.kind, r.checked_at, False, None, "no answer within 2s")
    first = raw[positions[0]]
    incidents.append((name, first.tenant_slug, first.checked_at, None, count))
    return raw


def _fail_window(raw: list[CheckRow], name: str, start: datetime, count: int, incidents: list) -> list[CheckRow]:
    positions = [i for i, r in enumerate(raw) if r.target == name and r.checked_at >= start][: count + 1]
    for i in positions[:count]:
        r = raw[i]
        raw[i] = CheckRow(r.target, r.tenant_slug, r.kind, r.checked_at, False, None, "HTTP 503")
    first, resolved = raw[positions[0]], raw[positions[count]].checked_at
    incidents.append((name, first.tenant_slug, first.checked_at, resolved, count))
    return raw

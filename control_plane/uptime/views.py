"""Read models for the on-call screens: DataFrames, one query (or a few) each."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

import pandas as pd
from sqlalchemy import text

from control_plane.auth.permissions import Actor, Permission
from control_plane.clock import utcnow
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.domain.slugs import validate_slug
from control_plane.domain.text import SEARCH_MAX, clean_text
from control_plane.errors import InvalidInput
from control_plane.uptime import raw, runbook, slo, targets
from control_plane.uptime.counts import counts, scope_counts
from control_plane.uptime.figures import half_up, minutes
from control_plane.uptime.report import incident_spans, mttr_seconds
from control_plane.uptime.store import not_in_maintenance, read_marks
from control_plane.uptime.windows import floor_day, floor_hour

WINDOWS = {"24h": timedelta(hours=1 * 24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
STALE_AFTER = timedelta(minutes=15)  # a target not checked for this long is not "down now", just stale
INCLUSIVE_NOW = "CAST(:now AS timestamptz) + interval '1 microsecond'"


def down_now(ctx: AppContext, actor: Actor, now: datetime | None = None) -> pd.DataFrame:
    """Targets whose latest check failed, with the open incident if there is one."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.down_now")
    now = now or utcnow()
    columns = ["target", "tenant", "down_since", "last_checked", "failed_checks", "last_error", "incident_id",
               "acknowledged_by"]
    with ctx.session_factory() as session:
        rows = session.execute(text(f"""
            WITH latest AS (
                SELECT DISTINCT ON (c.target_id) c.target, c.tenant_slug, c.checked_at, c.ok, c.error
                  FROM {raw.source(":since", INCLUSIVE_NOW)} c
                 ORDER BY c.target_id, c.checked_at DESC)
            SELECT l.target, l.tenant_slug, COALESCE(i.opened_at, l.checked_at), l.checked_at,
                   COALESCE(i.failed_checks, 1), COALESCE(l.error, i.last_error), i.id, i.acknowledged_by
              FROM latest l
              LEFT JOIN control_plane.incidents i ON i.target = l.target AND i.resolved_at IS NULL
             WHERE NOT l.ok ORDER BY 3"""), {"since": now - STALE_AFTER, "now": now}).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def uptime_table(ctx: AppContext, actor: Actor, now: datetime | None = None) -> pd.DataFrame:
    """Per tenant (all its targets together) and per platform target: uptime over 24h/7d/30d,
    SLO met, error budget left (30d), burn rate over the last hour, p95 latency (24h, pooled over a
    tenant's targets). SLO met is decided on the exact 30-day uptime; every figure is rounded
    half-up on its exact value (docs/uptime.md "Rounding")."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.table")
    now = now or utcnow()
    target = ctx.settings.slo_target
    frames = {}
    with ctx.session_factory() as session:
        marks = read_marks(session)
        for label, span in WINDOWS.items():
            frames[label] = scope_counts(session, now - span, now, marks=marks, with_p95=label == "24h")
        frames["1h"] = scope_counts(session, now - timedelta(hours=1), now, marks=marks, with_p95=False)
    keyed = {label: {(r.scope, r.name): r for r in frame.itertuples()} for label, frame in frames.items()}
    rows = []
    for key, month in keyed["30d"].items():
        row: dict = {"scope": key[0], "name": key[1]}
        for label in ("24h", "7d", "30d"):
            got = keyed[label].get(key)
            row[f"uptime_{label}"] = None if got is None else half_up(slo.uptime_exact(int(got.checks),
                                                                                          int(got.ok)), 3)
        checks, ok = int(month.checks), int(month.ok)
        row["slo_met"] = slo.slo_met(checks, ok, target)
        row["budget_left_pct"] = half_up(slo.budget_left_exact(checks, ok, target), 1)
        hour = keyed["1h"].get(key)
        row["burn_rate_1h"] = None if hour is None else half_up(slo.burn_exact(int(hour.checks), int(hour.ok),
                                                                                target), 2)
        day = keyed["24h"].get(key)
        row["p95_latency_24h_ms"] = None if day is None or pd.isna(day.p95_latency_ms) else float(day.p95_latency_ms)
        row["checks_30d"] = checks
        row["_exact"] = slo.uptime_exact(checks, ok)
        rows.append(row)
    rows.sort(key=lambda r: (r["_exact"], r["scope"], r["name"]))
    out = pd.DataFrame([{k: v for k, v in r.items() if k != "_exact"} for r in rows], columns=TABLE_COLUMNS)
    for column in ("uptime_24h", "uptime_7d", "uptime_30d", "budget_left_pct", "burn_rate_1h", "p95_latency_24h_ms"):
        out[column] = pd.to_numeric(out[column]).astype("float64")
    out["slo_met"] = out["slo_met"].astype(bool)
    out["checks_30d"] = out["checks_30d"].astype("int64")
    return out


TABLE_COLUMNS = ["scope", "name", "uptime_24h", "uptime_7d", "uptime_30d", "slo_met", "budget_left_pct",
                 "burn_rate_1h", "p95_latency_24h_ms", "checks_30d"]


def fleet(ctx: AppContext, actor: Actor, now: datetime | None = None) -> dict[str, float | int | None]:
    """Whole-fleet figures for the headline: uptime and budget over 30 days, burn over 1 hour."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.fleet")
    now = now or utcnow()
    target = ctx.settings.slo_target
    with ctx.session_factory() as session:
        marks = read_marks(session)
        month = counts(session, now - WINDOWS["30d"], now, marks=marks, with_p95=False)
        hour = counts(session, now - timedelta(hours=1), now, marks=marks, with_p95=False)
        open_incidents = session.execute(text(
            # as the on-call inbox counts them: open by the checks and not closed by hand
            "SELECT count(*) FROM control_plane.incidents WHERE resolved_at IS NULL AND closed_at IS NULL")
        ).scalar_one()
    checks, ok = int(month["checks"].sum()), int(month["ok"].sum())
    h_checks, h_ok = int(hour["checks"].sum()), int(hour["ok"].sum())
    return {"uptime_30d_pct": slo.uptime_pct(checks, ok), "budget_left_pct": slo.budget_left_pct(checks, ok, target),
            "burn_rate_1h": slo.burn_rate(h_checks, h_ok, target), "checks_30d": checks,
            "targets": len(month), "open_incidents": int(open_incidents),
            "budget_minutes": slo.budget_minutes(target)}


def latency_table(ctx: AppContext, actor: Actor, hours: int = 24, now: datetime | None = None) -> pd.DataFrame:
    """p95 latency per target over the last `hours`, against the latency SLO."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.latency")
    now = now or utcnow()
    with ctx.session_factory() as session:
        frame = counts(session, now - timedelta(hours=hours), now)
    frame = frame.rename(columns={"tenant_slug": "tenant"})
    frame["slo_ms"] = ctx.settings.latency_slo_ms
    frame["within_slo"] = frame["p95_latency_ms"] <= ctx.settings.latency_slo_ms
    return frame.sort_values("p95_latency_ms", ascending=False, na_position="last").reset_index(drop=True)[
        ["target", "tenant", "checks", "p95_latency_ms", "slo_ms", "within_slo"]]


def incidents_frame(ctx: AppContext, actor: Actor, *, days: int = 30, open_only: bool = False,
                    tenant: str | None = None, now: datetime | None = None) -> pd.DataFrame:
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.incidents")
    now = now or utcnow()
    params = {"since": now - timedelta(days=days), "now": now}
    where = "(opened_at >= :since OR resolved_at IS NULL)"
    if open_only:
        where = "resolved_at IS NULL"
    if tenant:
        where += " AND tenant_slug = :tenant"
        params["tenant"] = tenant
    with ctx.session_factory() as session:
        rows = session.execute(text(f"""
            SELECT id, target, tenant_slug, opened_at, resolved_at,
                   EXTRACT(EPOCH FROM (COALESCE(resolved_at, :now) - opened_at)) / 60.0 AS minutes,
                   failed_checks, last_error, acknowledged_by, acknowledged_at, note, assigned_to, closed_by
              FROM control_plane.incidents WHERE {where} ORDER BY opened_at DESC LIMIT 1000"""), params).all()
    columns = ["id", "target", "tenant", "opened_at", "resolved_at", "duration_min", "failed_checks", "last_error",
               "acknowledged_by", "acknowledged_at", "note", "assigned_to", "closed_by"]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame["runbook"] = runbook.ref("incident")
    frame["duration_min"] = pd.Series([half_up(m, 1) for m in frame["duration_min"]], dtype="float64")
    frame.insert(5, "status", frame["resolved_at"].isna().map({True: "open", False: "resolved"}))
    return frame


def incidents_mttr_minutes(frame: pd.DataFrame) -> float | None:
    """MTTR of an `incidents_frame`: its resolved incidents, each with its whole duration."""
    if frame.empty:
        return None
    seconds = mttr_seconds((opened, None if pd.isna(resolved) else resolved)
                           for opened, resolved in zip(frame["opened_at"], frame["resolved_at"], strict=True))
    return None if seconds is None else seconds / 60


def check_history(ctx: AppContext, actor: Actor, target: str, hours: int = 24,
                  now: datetime | None = None) -> pd.DataFrame:
    """Points for a chart: raw checks for short spans, hourly roll-ups (plus the raw tail) for long ones.
    Columns: at, checks, ok, uptime_pct, latency_ms, error."""
    target = clean_text(target, "Target", SEARCH_MAX)
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.history", target=target)
    if hours < 1 or hours > 24 * 90:
        raise InvalidInput("Choose between 1 hour and 90 days of history.")
    now = now or utcnow()
    start = now - timedelta(hours=hours)
    columns = ["at", "checks", "ok", "uptime_pct", "latency_ms", "error"]
    with ctx.session_factory() as session:
        marks = read_marks(session)
        raw_from = start
        rows = []
        if hours > 48 and marks.hour_complete is not None:
            raw_from = max(start, marks.hour_complete)
            rows += session.execute(text("""
                SELECT bucket_start, checks, ok, p95_latency_ms, NULL FROM control_plane.check_rollups
                 WHERE target = :target AND granularity = 'hour' AND bucket_start >= :a AND bucket_start < :b
                 ORDER BY bucket_start"""), {"target": target, "a": floor_hour(start), "b": raw_from}).all()
        checks = raw.source(":a", "CAST(:b AS timestamptz) + interval '1 microsecond'", target=raw.ids_of("targets"))
        rows += session.execute(text(f"""
            SELECT c.checked_at, 1, CASE WHEN c.ok THEN 1 ELSE 0 END, c.latency_ms, c.error
              FROM {checks} c WHERE {not_in_maintenance('c')}
             ORDER BY c.checked_at"""), {"targets": [target], "a": raw_from, "b": now}).all()
    frame = pd.DataFrame([(r[0], r[1], r[2], None, r[3], r[4]) for r in rows], columns=columns)
    frame["uptime_pct"] = (100.0 * frame["ok"] / frame["checks"]).astype("float64")
    frame["latency_ms"] = pd.to_numeric(frame["latency_ms"]).astype("float64")
    return frame


def target_names(ctx: AppContext, actor: Actor, days: int = 7) -> list[str]:
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.targets")
    since = utcnow() - timedelta(days=days)
    with ctx.session_factory() as session:
        return list(session.execute(text(
            "SELECT DISTINCT target FROM control_plane.check_rollups WHERE granularity = 'day' AND bucket_start >= :d "
            "UNION SELECT t.name FROM control_plane.check_targets t "
            f"WHERE EXISTS (SELECT 1 FROM {raw.source(':s', raw.NO_END, target='= t.id', with_names=False)} c) "
            "ORDER BY 1"),
            {"d": floor_day(since), "s": max(since, utcnow() - timedelta(hours=2))}).scalars())


ALERT_COLUMNS = ["id", "at", "severity", "kind", "target", "tenant", "message", "published", "publish_error",
                 "acknowledged_by", "assigned_to", "note", "closed_by", "closed_at", "runbook"]


def recent_alerts(ctx: AppContext, actor: Actor, limit: int = 200) -> pd.DataFrame:
    """The latest stored alerts of every kind, with on-call's handling and their runbook section."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.alerts")
    with ctx.session_factory() as session:
        rows = session.execute(text(
            "SELECT id, at, severity, kind, target, tenant_slug, message, published, publish_error, "
            "acknowledged_by, assigned_to, note, closed_by, closed_at "
            "FROM control_plane.alerts ORDER BY at DESC, id DESC LIMIT :limit"), {"limit": limit}).all()
    return pd.DataFrame([(*r, runbook.ref(r.kind, r.message)) for r in rows], columns=ALERT_COLUMNS)


def month_starts(months: int, now: datetime) -> list[datetime]:
    first = floor_day(now).replace(day=1)
    out = [first]
    for _ in range(months - 1):
        prev = (out[-1] - timedelta(days=1)).replace(day=1)
        out.append(prev)
    return sorted(out)


SLA_COLUMNS = ["tenant", "month", "checks", "uptime_pct", "slo_met", "incidents", "downtime_minutes",
               "mttr_minutes"]


def sla_report(ctx: AppContext, actor: Actor, slug: str, months: int = 12, now: datetime | None = None) -> pd.DataFrame:
    """Per calendar month (UTC): checks, uptime %, SLO met, incidents, downtime minutes (the part
    inside the month of the month's incidents, open ones counted until now) and MTTR minutes (the
    resolved ones among them, each with its whole duration) for one tenant's targets together."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.sla", tenant_slug=slug)
    check_months(months)
    now = now or utcnow()
    with ctx.session_factory() as session:
        rows = _sla_rows(ctx, session, slug, months=months, now=now, marks=read_marks(session))
    return pd.DataFrame(rows, columns=SLA_COLUMNS)


def sla_report_all(ctx: AppContext, actor: Actor, months: int = 12, now: datetime | None = None) -> pd.DataFrame:
    """`sla_report` for every tenant: those in the catalog and those that only have checks
    (imported `schema:<slug>`/`http:<slug>` history), by slug."""
    authorize(ctx, actor, Permission.UPTIME_READ, "uptime.sla")
    check_months(months)
    now = now or utcnow()
    rows = []
    with ctx.session_factory() as session:
        marks = read_marks(session)
        slugs = set(session.execute(text(
            "SELECT slug FROM control_plane.tenants UNION "
            "SELECT tenant_slug FROM control_plane.check_targets WHERE tenant_slug IS NOT NULL")).scalars())
        # schema:<slug> and http:<slug> belong to <slug> whether or not the tenant is in the catalog
        for name in session.execute(text(
                "SELECT name FROM control_plane.check_targets WHERE name LIKE 'schema:%' OR name LIKE 'http:%' "
                "UNION SELECT DISTINCT target FROM control_plane.check_rollups "
                "WHERE target LIKE 'schema:%' OR target LIKE 'http:%'")).scalars():
            slugs.add(targets.tenant_of(name))
        slugs.discard(None)
        for slug in sorted(slugs):
            rows += _sla_rows(ctx, session, slug, months=months, now=now, marks=marks)
    return pd.DataFrame(rows, columns=SLA_COLUMNS)


def check_months(months: int) -> None:
    if not 1 <= months <= 36:
        raise InvalidInput("Choose between 1 and 36 months.")


def _sla_rows(ctx: AppContext, session, slug: str, *, months: int, now: datetime, marks) -> list[dict]:
    names = targets.tenant_targets(slug)
    rows = []
    for start in month_starts(months, now):
        end = min((start + timedelta(days=32)).replace(day=1), now)
        frame = counts(session, start, end, targets=names, marks=marks, with_p95=False)
        spans = incident_spans(session, start, end, ctx.settings.incident_threshold, targets=names)
        all_spans = [s for target_spans in spans.values() for s in target_spans]
        downtime = sum((minutes(max(min(r or end, end) - o, timedelta(0))) for o, r in all_spans), Fraction(0))
        resolved = [minutes(r - o) for o, r in all_spans if r is not None]
        checks, ok = int(frame["checks"].sum()), int(frame["ok"].sum())
        rows.append({"tenant": slug, "month": start.strftime("%Y-%m"), "checks": checks,
                     "uptime_pct": half_up(slo.uptime_exact(checks, ok), 3),
                     "slo_met": slo.slo_met(checks, ok, ctx.settings.slo_target),
                     "incidents": len(all_spans), "downtime_minutes": half_up(downtime, 1),
                     "mttr_minutes": half_up(sum(resolved, Fraction(0)) / len(resolved), 1) if resolved else None})
    return rows

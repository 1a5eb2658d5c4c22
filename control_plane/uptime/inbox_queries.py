"""SQL of the on-call inbox (docs/runbook.md "The on-call inbox"): one statement per list, each
over every tenant at once, so the inbox costs the same number of round trips for 10 tenants or
20,000. Burn rates and the 30-day budget come from burn.py and counts.py (their own statements,
also a fixed number)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from control_plane.uptime import raw

STALE_AFTER = timedelta(minutes=15)  # as views.down_now: a target not checked for this long is stale, not down
_INCLUSIVE_NOW = "CAST(:now AS timestamptz) + interval '1 microsecond'"
_OPEN_AT = "i.opened_at <= :now AND (i.resolved_at IS NULL OR i.resolved_at > :now)"


def open_incidents(session: Session, now: datetime) -> list[Row]:
    """Incidents open at `now` (by their checks), with on-call's handling; closed ones included
    (the caller tells them apart: a closed incident still suppresses burn-rate alerts)."""
    return list(session.execute(text(f"""
        SELECT i.id, i.target, i.tenant_slug, i.opened_at, i.failed_checks, i.last_error,
               i.acknowledged_by, i.acknowledged_at, i.assigned_to, i.note, i.closed_by, i.closed_at
          FROM control_plane.incidents i
         WHERE {_OPEN_AT}
         ORDER BY i.opened_at, i.id"""), {"now": now}))


def down_targets(session: Session, now: datetime) -> list[Row]:
    """Targets whose latest check at or before `now` (within STALE_AFTER) failed, with the
    incident open on them at `now`, if any."""
    return list(session.execute(text(f"""
        WITH latest AS (
            SELECT DISTINCT ON (c.target_id) c.target, c.tenant_slug, c.checked_at, c.ok, c.error
              FROM {raw.source(":since", _INCLUSIVE_NOW)} c
             ORDER BY c.target_id, c.checked_at DESC)
        SELECT l.target, l.tenant_slug, COALESCE(i.opened_at, l.checked_at) AS down_since, l.checked_at,
               COALESCE(l.error, i.last_error) AS error, i.id AS incident_id
          FROM latest l
          LEFT JOIN control_plane.incidents i ON i.target = l.target AND {_OPEN_AT}
         WHERE NOT l.ok
         ORDER BY 3, 1"""), {"since": now - STALE_AFTER, "now": now}))


def burn_alert_episodes(session: Session, now: datetime, since_by_target: dict[str, datetime]) -> list[Row]:
    """Per target, the stored burn-rate alerts raised in [since, now]: the latest one's id and
    instant, and the handling found on any of them (the sweep raises the same alert again every
    hour or so while it fires; an acknowledgement, assignee or note carries over to the next)."""
    if not since_by_target:
        return []
    names = sorted(since_by_target)
    return list(session.execute(text("""
        SELECT a.target,
               (array_agg(a.id ORDER BY a.at DESC, a.id DESC))[1] AS alert_id,
               max(a.at) AS raised_at,
               (array_agg(a.acknowledged_by ORDER BY a.acknowledged_at DESC)
                    FILTER (WHERE a.acknowledged_by IS NOT NULL))[1] AS acknowledged_by,
               (array_agg(a.assigned_to ORDER BY a.assigned_at DESC)
                    FILTER (WHERE a.assigned_at IS NOT NULL))[1] AS assigned_to,
               (array_agg(a.note ORDER BY a.at DESC, a.id DESC) FILTER (WHERE a.note IS NOT NULL))[1] AS note,
               max(a.closed_at) AS closed_at,
               (array_agg(a.closed_by ORDER BY a.closed_at DESC) FILTER (WHERE a.closed_at IS NOT NULL))[1]
                   AS closed_by
          FROM unnest(CAST(:targets AS text[]), CAST(:sinces AS timestamptz[])) AS f(target, since)
          JOIN control_plane.alerts a ON a.kind = 'burn_rate' AND a.target = f.target
                                     AND a.at >= f.since AND a.at <= :now
         GROUP BY a.target"""),
        {"targets": names, "sinces": [since_by_target[n] for n in names], "now": now}))


def user_role(session: Session, username: str) -> str | None:
    """The role of an enabled user, None when there is no such user or the account is disabled."""
    return session.execute(text(
        "SELECT role FROM control_plane.users WHERE username = :name AND NOT disabled"),
        {"name": username}).scalar()


def assignable_users(session: Session, roles: list[str]) -> list[str]:
    return list(session.execute(text(
        "SELECT username FROM control_plane.users WHERE role = ANY(:roles) AND NOT disabled ORDER BY username"),
        {"roles": roles}).scalars())

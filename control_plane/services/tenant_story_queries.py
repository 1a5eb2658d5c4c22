"""The SQL behind a tenant's page (services/tenant_story.py): one statement per section, each
bounded by the tenant's slug and a window or a LIMIT, so the page costs the same few statements
for a tenant with ten years of history as for a new one, and none follows the catalog's size."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

NOTE_ACTION = "tenant.note"

_TENANT = text("""
SELECT t.slug, t.plan_code, p.name AS plan_name, p.list_price, t.archive_uri, t.archived_at, t.purge_after,
       t.archive_sha256, t.archive_size_bytes, t.archive_tables
  FROM control_plane.tenants t
  LEFT JOIN control_plane.plans p ON p.code = t.plan_code
 WHERE t.slug = :slug""")

# The ledger keys history by tenant slug (no FK: revenue history outlives schemas).
_SUBSCRIPTION = text("""
SELECT effective_date, plan, interval, price, seats, discount_percent, status, source, mrr_cents
  FROM control_plane.subscription_changes
 WHERE tenant = :slug
 ORDER BY effective_date""")

_USAGE = text("""
SELECT day, storage_bytes, requests, errors, p95_latency_ms
  FROM control_plane.usage_daily
 WHERE tenant_slug = :slug AND day BETWEEN :first AND :last
 ORDER BY day""")

# Incidents open at some instant of [start, end): opened before its end, resolved after its start (or not yet).
_INCIDENTS = text("""
SELECT id, target, opened_at, resolved_at, failed_checks, last_error, acknowledged_by
  FROM control_plane.incidents
 WHERE tenant_slug = :slug AND opened_at < :end AND (resolved_at IS NULL OR resolved_at > :start)
 ORDER BY opened_at DESC, id DESC
 LIMIT :limit""")

_NOISY = text("""
SELECT metric, value, baseline, factor, at, cleared_at, recommendation
  FROM control_plane.noisy_neighbour_flags
 WHERE tenant_slug = :slug AND (cleared_at IS NULL OR cleared_at >= :since)
 ORDER BY cleared_at IS NOT NULL, at DESC, id DESC
 LIMIT :limit""")

# Newest first in commit order (core/audit_queries.py explains why by id, not by `at`).
_AUDIT = text("""
SELECT id, at, actor, actor_role, action, outcome, reason, target, before, after
  FROM control_plane.audit_log
 WHERE tenant_slug = :slug
 ORDER BY id DESC
 LIMIT :limit""")

_NOTES = text("""
SELECT id, at, actor, actor_role, reason
  FROM control_plane.audit_log
 WHERE tenant_slug = :slug AND action = :action AND outcome = 'ok'
 ORDER BY id DESC
 LIMIT :limit""")


def _rows(session: Session, statement: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in session.execute(statement, params).mappings()]


def tenant_facts(session: Session, slug: str) -> dict[str, Any] | None:
    rows = _rows(session, _TENANT, {"slug": slug})
    return rows[0] if rows else None


def subscription_history(session: Session, slug: str) -> list[dict[str, Any]]:
    return _rows(session, _SUBSCRIPTION, {"slug": slug})


def usage_days(session: Session, slug: str, first: date, last: date) -> list[dict[str, Any]]:
    return _rows(session, _USAGE, {"slug": slug, "first": first, "last": last})


def incidents_between(session: Session, slug: str, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
    return _rows(session, _INCIDENTS, {"slug": slug, "start": start, "end": end, "limit": limit})


def noisy_flags(session: Session, slug: str, since: datetime, limit: int) -> list[dict[str, Any]]:
    return _rows(session, _NOISY, {"slug": slug, "since": since, "limit": limit})


def audit_trail(session: Session, slug: str, limit: int) -> list[dict[str, Any]]:
    return _rows(session, _AUDIT, {"slug": slug, "limit": limit})


def notes(session: Session, slug: str, limit: int) -> list[dict[str, Any]]:
    return _rows(session, _NOTES, {"slug": slug, "action": NOTE_ACTION, "limit": limit})

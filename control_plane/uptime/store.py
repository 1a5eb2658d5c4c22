"""Check rows, roll-up marks and the maintenance filter. Raw checks' storage is in raw.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.uptime import raw
from control_plane.uptime.raw import CheckRow
from control_plane.uptime.windows import Marks

MARK_RAW_SINCE = "raw_since"
MARK_HOUR_COMPLETE = "hour_complete"
MARK_DAY_COMPLETE = "day_complete"


def not_in_maintenance(alias: str, *, target: str | None = None, tenant: str | None = None) -> str:
    """SQL predicate: the check `alias` lies in no maintenance window that covers it. A window
    names a target, a tenant (all its targets), or neither (everything). `target`/`tenant` are SQL
    expressions for when `alias` itself has no target and tenant_slug columns."""
    target = target or f"{alias}.target"
    tenant = tenant or f"{alias}.tenant_slug"
    return (
        "NOT EXISTS (SELECT 1 FROM control_plane.maintenance_windows m"
        f" WHERE {alias}.checked_at >= m.starts_at AND {alias}.checked_at < m.ends_at"
        f" AND (m.target IS NULL OR m.target = {target})"
        f" AND (m.tenant_slug IS NULL OR m.tenant_slug = {tenant}))"
    )


def insert_checks(session: Session, rows: Sequence[CheckRow]) -> int:
    """Append checks (COPY into recent_checks) inside the session's transaction: a sweep's
    thousands of rows in one round trip."""
    return raw.append(session, rows)


def read_marks(session: Session) -> Marks:
    rows = dict(session.execute(text("SELECT name, at FROM control_plane.uptime_marks")).all())
    return Marks(raw_since=rows.get(MARK_RAW_SINCE), hour_complete=rows.get(MARK_HOUR_COMPLETE),
                 day_complete=rows.get(MARK_DAY_COMPLETE))


def write_mark(session: Session, name: str, at: datetime) -> None:
    session.execute(text(
        "INSERT INTO control_plane.uptime_marks (name, at) VALUES (:name, :at) "
        "ON CONFLICT (name) DO UPDATE SET at = excluded.at"), {"name": name, "at": at})

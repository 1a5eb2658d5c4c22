"""Writing and reading raw checks, roll-up marks and the maintenance filter. SQL lives here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from control_plane.uptime.windows import Marks

MARK_RAW_SINCE = "raw_since"
MARK_HOUR_COMPLETE = "hour_complete"
MARK_DAY_COMPLETE = "day_complete"


@dataclass(frozen=True)
class CheckRow:
    target: str
    tenant_slug: str | None
    kind: str
    checked_at: datetime
    ok: bool
    latency_ms: Decimal | float | None
    error: str | None = None


def not_in_maintenance(alias: str) -> str:
    """SQL predicate: the check `alias` lies in no maintenance window that covers it. A window
    names a target, a tenant (all its targets), or neither (everything)."""
    return (
        "NOT EXISTS (SELECT 1 FROM control_plane.maintenance_windows m"
        f" WHERE {alias}.checked_at >= m.starts_at AND {alias}.checked_at < m.ends_at"
        f" AND (m.target IS NULL OR m.target = {alias}.target)"
        f" AND (m.tenant_slug IS NULL OR m.tenant_slug = {alias}.tenant_slug))"
    )


def insert_checks(session: Session, rows: Sequence[CheckRow]) -> int:
    """COPY into check_results inside the session's transaction: a sweep's thousands of rows in
    one round trip."""
    if not rows:
        return 0
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(
        "COPY control_plane.check_results (target, tenant_slug, kind, checked_at, ok, latency_ms, error) "
        "FROM STDIN"
    ) as copy:
        for r in rows:
            latency = None if r.latency_ms is None else round(Decimal(str(r.latency_ms)), 2)
            copy.write_row((r.target, r.tenant_slug, r.kind, r.checked_at, r.ok, latency, r.error))
    return len(rows)


def read_marks(session: Session) -> Marks:
    rows = dict(session.execute(text("SELECT name, at FROM control_plane.uptime_marks")).all())
    return Marks(raw_since=rows.get(MARK_RAW_SINCE), hour_complete=rows.get(MARK_HOUR_COMPLETE),
                 day_complete=rows.get(MARK_DAY_COMPLETE))


def write_mark(session: Session, name: str, at: datetime) -> None:
    session.execute(text(
        "INSERT INTO control_plane.uptime_marks (name, at) VALUES (:name, :at) "
        "ON CONFLICT (name) DO UPDATE SET at = excluded.at"), {"name": name, "at": at})


def known_targets(session: Session, since: datetime) -> list[str]:
    """Targets with raw checks since `since` or roll-ups after it."""
    return list(session.execute(text(
        "SELECT target FROM control_plane.check_rollups WHERE bucket_start >= :since "
        "UNION SELECT DISTINCT target FROM control_plane.check_results WHERE checked_at >= :since "
        "ORDER BY 1"), {"since": since}).scalars())


def as_list(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else sorted(set(values))

"""Maintenance windows: declared per target, per tenant or for everything; checks inside one
count neither for uptime nor for incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import select

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit, lookups
from control_plane.core.authorization import authorize
from control_plane.db.models import MaintenanceWindow
from control_plane.domain.text import CODE_MAX, REASON_MAX, SEARCH_MAX, clean_text
from control_plane.errors import InvalidInput, NotFound
from control_plane.uptime.rollup import refresh_range

MAX_SPAN = timedelta(days=31)


@dataclass(frozen=True)
class WindowView:
    id: int
    target: str | None
    tenant_slug: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    created_by: str | None


def declare(ctx: AppContext, actor: Actor, starts_at: datetime, ends_at: datetime, reason: str, *,
            target: str | None = None, tenant_slug: str | None = None) -> WindowView:
    target = clean_text(target, "Target", SEARCH_MAX) or None
    tenant_slug = clean_text(tenant_slug, "Tenant", CODE_MAX) or None
    reason = clean_text(reason, "Reason", REASON_MAX)
    authorize(ctx, actor, Permission.INCIDENTS_MANAGE, "maintenance.declare", tenant_slug=tenant_slug, target=target)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("Maintenance start and end need a time zone (UTC is used in the app).")
    if ends_at <= starts_at:
        raise InvalidInput("A maintenance window must end after it starts.")
    if ends_at - starts_at > MAX_SPAN:
        raise InvalidInput("A maintenance window may last at most 31 days; declare several if you need more.")
    if not reason:
        raise InvalidInput("Say why (the reason is shown next to the uptime figures it changes).")
    with ctx.session_factory() as session:
        if tenant_slug:
            lookups.require_tenant(session, tenant_slug)
        window = MaintenanceWindow(target=target, tenant_slug=tenant_slug, starts_at=starts_at, ends_at=ends_at,
                                   reason=reason, created_by=actor.name)
        session.add(window)
        session.flush()
        refresh_range(session, starts_at, ends_at)  # a window in the past changes finished roll-ups
        audit.record(session, actor, "maintenance.declare", tenant_slug=tenant_slug, target=target, reason=reason,
                     after={"id": window.id, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                            "scope": target or tenant_slug or "everything"})
        session.commit()
        return _view(window)


def delete(ctx: AppContext, actor: Actor, window_id: int) -> None:
    authorize(ctx, actor, Permission.INCIDENTS_MANAGE, "maintenance.delete", target=str(window_id))
    with ctx.session_factory() as session:
        window = session.get(MaintenanceWindow, window_id, with_for_update=True)
        if window is None:
            raise NotFound(f"No maintenance window #{window_id}; someone may have removed it already.")
        before = {"id": window.id, "target": window.target, "tenant_slug": window.tenant_slug,
                  "starts_at": window.starts_at.isoformat(), "ends_at": window.ends_at.isoformat(),
                  "reason": window.reason}
        starts_at, ends_at = window.starts_at, window.ends_at
        session.delete(window)
        session.flush()
        refresh_range(session, starts_at, ends_at)
        audit.record(session, actor, "maintenance.delete", tenant_slug=window.tenant_slug, target=window.target,
                     before=before)
        session.commit()


def list_windows(ctx: AppContext, actor: Actor, *, include_past_days: int = 30,
                 now: datetime | None = None) -> pd.DataFrame:
    """Windows that end after `now` − `include_past_days` days, latest start first."""
    authorize(ctx, actor, Permission.UPTIME_READ, "maintenance.list")
    if not 0 <= include_past_days <= 3660:
        raise InvalidInput("Choose between 0 and 3660 past days.")
    since = (now or datetime.now(UTC)) - timedelta(days=include_past_days)
    with ctx.session_factory() as session:
        rows = session.scalars(select(MaintenanceWindow).where(MaintenanceWindow.ends_at >= since)
                               .order_by(MaintenanceWindow.starts_at.desc())).all()
    columns = ["id", "scope", "starts_at", "ends_at", "reason", "created_by"]
    return pd.DataFrame([{"id": w.id, "scope": _scope(w),
                          "starts_at": w.starts_at, "ends_at": w.ends_at, "reason": w.reason,
                          "created_by": w.created_by} for w in rows], columns=columns)


def _scope(w: MaintenanceWindow) -> str:
    return w.target or (f"tenant {w.tenant_slug}" if w.tenant_slug else "everything")


def _view(w: MaintenanceWindow) -> WindowView:
    return WindowView(w.id, w.target, w.tenant_slug, w.starts_at, w.ends_at, w.reason, w.created_by)

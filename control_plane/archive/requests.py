"""Archive requests: support asks, an admin approves (the archive runs) or declines with a reason,
and whoever asked sees the outcome (docs/lifecycle.md "Archive requests").

pending → approved   when the tenant's archive finishes (service.approve_archive_request, or any
                     archive of that tenant: the request is settled by the archive it asked for);
pending → declined   by an admin, with a reason.
At most one pending request per tenant; every change is audited in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.auth.permissions import Actor, Permission
from control_plane.clock import utcnow
from control_plane.context import AppContext
from control_plane.core import audit, lookups
from control_plane.core.authorization import authorize
from control_plane.db.models import ArchiveRequest, Tenant
from control_plane.domain.lifecycle import Action, Status
from control_plane.domain.slugs import validate_slug
from control_plane.domain.text import REASON_MAX, clean_text
from control_plane.errors import Conflict, InvalidInput
from control_plane.moves import ledger as moves_ledger

PENDING, APPROVED, DECLINED = "pending", "approved", "declined"


@dataclass(frozen=True)
class ArchiveRequestView:
    id: int
    slug: str
    tenant_name: str
    tenant_status: str
    requested_by: str
    requested_at: datetime
    reason: str
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


def request_archive(ctx: AppContext, actor: Actor, slug: str, reason: str) -> ArchiveRequestView:
    """Support asks for an archive; an admin carries it out or declines. Audited; the tenant is unchanged."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_REQUEST_ARCHIVE, "tenant.archive.request", tenant_slug=slug)
    reason = clean_text(reason, "Reason", REASON_MAX)
    if not reason:
        raise InvalidInput("A reason is required to request an archive.")
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug, lock=True)  # serialises two requests for one tenant
        if not Status(tenant.status).can(Action.REQUEST_ARCHIVE):
            raise Conflict(f"Cannot request an archive of tenant {slug!r}: it is {tenant.status}.")
        moves_ledger.refuse_if_moving(session, slug, "request an archive of")
        open_one = _pending(session, slug)
        if open_one is not None:
            raise Conflict(f"An archive of {slug!r} is already requested (by {open_one.requested_by} on "
                           f"{open_one.requested_at:%Y-%m-%d %H:%M} UTC); an admin will approve or decline it.")
        row = ArchiveRequest(tenant_slug=slug, requested_by=actor.name, reason=reason, status=PENDING)
        session.add(row)
        session.flush()
        audit.record(session, actor, "tenant.archive.request", tenant_slug=slug, reason=reason,
                     before={"status": tenant.status}, detail={"request": row.id})
        session.commit()
        session.refresh(row)
        return _view(row, tenant)


def decline_archive_request(ctx: AppContext, actor: Actor, slug: str, reason: str) -> ArchiveRequestView:
    """An admin turns the tenant's pending request down; the reason is shown to whoever asked."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_ARCHIVE, "tenant.archive.request.decline", tenant_slug=slug)
    reason = clean_text(reason, "Reason", REASON_MAX)
    if not reason:
        raise InvalidInput("A reason is required to decline an archive request: the person who asked reads it.")
    with ctx.session_factory() as session:
        tenant = lookups.tenant(session, slug, lock=True)
        row = _pending(session, slug, lock=True)
        if row is None:
            raise Conflict(f"Tenant {slug!r} has no pending archive request (it may have been decided already).")
        row.status, row.decided_by, row.decided_at, row.decision_reason = DECLINED, actor.name, utcnow(), reason
        audit.record(session, actor, "tenant.archive.request.decline", tenant_slug=slug, reason=reason,
                     before={"status": PENDING, "requested_by": row.requested_by, "request_reason": row.reason},
                     after={"status": DECLINED}, detail={"request": row.id})
        session.commit()
        return _view(row, tenant)


def settle_on_archive(session: Session, actor: Actor, slug: str, at: datetime) -> None:
    """Called in the transaction that marks the tenant archived: its pending request (if any) is
    approved by whoever ran the archive, audited in that same transaction."""
    row = _pending(session, slug, lock=True)
    if row is None:
        return
    row.status, row.decided_by, row.decided_at = APPROVED, actor.name, at
    audit.record(session, actor, "tenant.archive.request.approve", tenant_slug=slug,
                 before={"status": PENDING, "requested_by": row.requested_by, "request_reason": row.reason},
                 after={"status": APPROVED}, detail={"request": row.id})


def require_pending(ctx: AppContext, slug: str) -> ArchiveRequestView:
    with ctx.session_factory() as session:
        row = _pending(session, slug)
        if row is None:
            raise Conflict(f"Tenant {slug!r} has no pending archive request (it may have been decided already).")
        return _view(row, lookups.tenant(session, slug))


def pending_archive_requests(ctx: AppContext, actor: Actor) -> list[ArchiveRequestView]:
    """Every pending request, oldest first (the admin's queue)."""
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.archive.requests")
    query = (select(ArchiveRequest, Tenant).join(Tenant, Tenant.slug == ArchiveRequest.tenant_slug)
             .where(ArchiveRequest.status == PENDING).order_by(ArchiveRequest.requested_at, ArchiveRequest.id))
    with ctx.session_factory() as session:
        return [_view(r, t) for r, t in session.execute(query)]


def requests_for_tenant(ctx: AppContext, actor: Actor, slug: str, limit: int = 20) -> list[ArchiveRequestView]:
    """A tenant's requests, newest first: the pending one and past outcomes."""
    slug = validate_slug(slug)
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.archive.requests", tenant_slug=slug)
    query = (select(ArchiveRequest, Tenant).join(Tenant, Tenant.slug == ArchiveRequest.tenant_slug)
             .where(ArchiveRequest.tenant_slug == slug)
             .order_by(ArchiveRequest.requested_at.desc(), ArchiveRequest.id.desc()).limit(limit))
    with ctx.session_factory() as session:
        return [_view(r, t) for r, t in session.execute(query)]


def requests_by(ctx: AppContext, actor: Actor, username: str, limit: int = 10) -> list[ArchiveRequestView]:
    """What one person asked for, newest first: the requester's own view of outcomes."""
    authorize(ctx, actor, Permission.TENANTS_READ, "tenant.archive.requests")
    query = (select(ArchiveRequest, Tenant).join(Tenant, Tenant.slug == ArchiveRequest.tenant_slug)
             .where(ArchiveRequest.requested_by == username)
             .order_by(ArchiveRequest.requested_at.desc(), ArchiveRequest.id.desc()).limit(limit))
    with ctx.session_factory() as session:
        return [_view(r, t) for r, t in session.execute(query)]


def _pending(session: Session, slug: str, lock: bool = False) -> ArchiveRequest | None:
    query = select(ArchiveRequest).where(ArchiveRequest.tenant_slug == slug, ArchiveRequest.status == PENDING)
    return session.scalar(query.with_for_update() if lock else query)





def _view(row: ArchiveRequest, tenant: Tenant) -> ArchiveRequestView:
    return ArchiveRequestView(
        id=row.id, slug=row.tenant_slug, tenant_name=tenant.name, tenant_status=tenant.status,
        requested_by=row.requested_by, requested_at=row.requested_at, reason=row.reason, status=row.status,
        decided_by=row.decided_by, decided_at=row.decided_at, decision_reason=row.decision_reason)

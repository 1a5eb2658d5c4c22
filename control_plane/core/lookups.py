"""Catalog rows looked up by key, for services inside their own transaction: a missing row is the
one error a person sees for it (errors.TenantNotFound), whichever service asked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.db.models import Cluster, Tenant
from control_plane.errors import InvalidInput, TenantNotFound


def tenant_or_none(session: Session, slug: str, *, lock: bool = False) -> Tenant | None:
    """The tenant's row; `lock` takes its row lock (FOR UPDATE) until the transaction ends."""
    query = select(Tenant).where(Tenant.slug == slug)
    return session.scalar(query.with_for_update() if lock else query)


def tenant(session: Session, slug: str, *, lock: bool = False) -> Tenant:
    found = tenant_or_none(session, slug, lock=lock)
    if found is None:
        raise TenantNotFound(slug)
    return found


def require_tenant(session: Session, slug: str) -> None:
    """That the tenant exists, without loading its row."""
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is None:
        raise TenantNotFound(slug)


def named_cluster(session: Session, name: str) -> Cluster:
    """A cluster a person named; an unknown name is refused with the names that exist."""
    cluster = session.get(Cluster, name)
    if cluster is None:
        known = ", ".join(session.scalars(select(Cluster.name).order_by(Cluster.name)))
        raise InvalidInput(f"Unknown cluster {name!r}; registered clusters: {known}.")
    return cluster

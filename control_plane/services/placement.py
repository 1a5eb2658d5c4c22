"""Where a new tenant goes when no cluster is named: the accepting cluster with the fewest
live tenants per unit of capacity weight (ties: the oldest cluster, i.e. the default)."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from control_plane.db.models import Cluster, Tenant
from control_plane.errors import ConfigError

LIVE = ("provisioning", "active", "suspended", "archiving")


def choose_cluster(session: Session) -> Cluster:
    accepting = session.scalars(select(Cluster).where(Cluster.accepts_tenants).limit(2)).all()
    if not accepting:
        raise ConfigError("No cluster accepts new tenants; register one with `clusters add`.")
    if len(accepting) == 1:
        return accepting[0]  # the common case needs no count over every tenant
    load = func.count(Tenant.id)
    query = (
        select(Cluster)
        .outerjoin(Tenant, and_(Tenant.cluster_name == Cluster.name, Tenant.status.in_(LIVE)))
        .where(Cluster.accepts_tenants)
        .group_by(Cluster.name)
        .order_by((load / func.greatest(Cluster.capacity_weight, 0.01)).asc(), Cluster.created_at, Cluster.name)
        .limit(1)
    )
    cluster = session.scalar(query)
    if cluster is None:
        raise ConfigError("No cluster accepts new tenants; register one with `clusters add`.")
    return cluster

"""Clusters: the PostgreSQL databases that hold tenant schemas. The default cluster's row names no
variable (its database: docs/operations.md "The default cluster"); more are registered with the
name of the environment variable holding their URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db.models import Cluster, Tenant
from control_plane.domain.text import CODE_MAX, clean_text
from control_plane.errors import Conflict, ControlPlaneError, InvalidInput
from control_plane.services.placement import LIVE

NAME = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
# docs/operations.md "Clusters": a cluster's URL may only come from these variables, so `--url-env` cannot
# point the worker at another secret of the process (AWS_SECRET_ACCESS_KEY would otherwise be
# parsed as a connection string, and libpq would quote it in its error on every sweep).
URL_ENV = re.compile(r"^(DATABASE_URL|CP_CLUSTER_URL_[A-Z0-9_]{1,100})$")
AURORA_ID = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,62}$")


@dataclass(frozen=True)
class ClusterView:
    name: str
    url_env: str | None
    aurora_cluster_id: str | None
    acu_floor: Decimal
    acu_ceiling: Decimal
    capacity_weight: Decimal
    accepts_tenants: bool
    live_tenants: int
    created_at: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "url_env": self.url_env, "is_catalog": self.url_env is None,
            "aurora_cluster_id": self.aurora_cluster_id, "acu_floor": float(self.acu_floor),
            "acu_ceiling": float(self.acu_ceiling), "capacity_weight": float(self.capacity_weight),
            "accepts_tenants": self.accepts_tenants, "live_tenants": self.live_tenants,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def check_url_env(url_env: str | None) -> str:
    """The variable name, if it may hold a cluster URL; InvalidInput (exit 2) otherwise."""
    url_env = (url_env or "").strip()
    if not URL_ENV.fullmatch(url_env):
        shown = url_env if len(url_env) <= 60 and url_env.isprintable() else url_env[:60].encode("unicode_escape")
        raise InvalidInput(f"--url-env must be DATABASE_URL or a variable named CP_CLUSTER_URL_<NAME> "
                           f"(e.g. CP_CLUSTER_URL_EU1), got {shown!r}. The connection string itself is never stored.")
    return url_env


def _acu(label: str, value: float | str | Decimal | None, default: float) -> Decimal:
    raw = default if value is None else value
    try:
        acu = Decimal(str(raw))
    except InvalidOperation as exc:
        raise InvalidInput(f"{label} must be a number of ACU, got {raw!r}.") from exc
    if acu < Decimal("0.5") or acu > Decimal("256") or acu % Decimal("0.5"):
        raise InvalidInput(f"{label} must be between 0.5 and 256 ACU in steps of 0.5, got {raw}.")
    return acu


def add_cluster(ctx: AppContext, actor: Actor, name: str, url_env: str, *, aurora_cluster_id: str | None = None,
                acu_floor: float | str | None = None, acu_ceiling: float | str | None = None,
                capacity_weight: float | str = 1, verify: bool = True, accepts_tenants: bool = True) -> ClusterView:
    """`verify` connects to the cluster (and describes the Aurora cluster) before registering it, so
    a typo is caught now rather than when the first tenant is placed there. A cluster that does not
    accept tenants gets only those named for it (provision --cluster, a move)."""
    name = clean_text(name, "Cluster name", CODE_MAX)
    authorize(ctx, actor, Permission.CLUSTERS_MANAGE, "cluster.add", target=name or None)
    if not NAME.fullmatch(name):
        raise InvalidInput(f"Invalid cluster name {name!r}: 2-40 lowercase letters, digits, '-' or '_', "
                           "starting with a letter.")
    url_env = check_url_env(url_env)
    if aurora_cluster_id is not None:
        aurora_cluster_id = clean_text(aurora_cluster_id, "Aurora cluster id", CODE_MAX) or None
    if aurora_cluster_id is not None and not AURORA_ID.fullmatch(aurora_cluster_id):
        raise InvalidInput(f"Invalid Aurora cluster id {aurora_cluster_id!r}.")
    floor = _acu("--acu-floor", acu_floor, ctx.settings.scaling_default_floor_acu)
    ceiling = _acu("--acu-ceiling", acu_ceiling, ctx.settings.scaling_default_ceiling_acu)
    if floor > ceiling:
        raise InvalidInput(f"--acu-floor ({floor}) must not exceed --acu-ceiling ({ceiling}).")
    try:
        weight = Decimal(str(capacity_weight))
    except InvalidOperation as exc:
        raise InvalidInput(f"Capacity weight must be a number, got {capacity_weight!r}.") from exc
    if weight <= 0 or weight > 1000:
        raise InvalidInput("Capacity weight must be above 0 and at most 1000.")
    if verify:
        _verify(ctx, url_env, aurora_cluster_id)

    with ctx.session_factory() as session:
        if session.get(Cluster, name) is not None:
            raise Conflict(f"Cluster {name!r} is already registered.")
        cluster = Cluster(name=name, url_env=url_env, aurora_cluster_id=aurora_cluster_id, acu_floor=floor,
                          acu_ceiling=ceiling, capacity_weight=weight, accepts_tenants=accepts_tenants)
        session.add(cluster)
        audit.record(session, actor, "cluster.add", target=name,
                     after={"url_env": url_env, "aurora_cluster_id": aurora_cluster_id, "acu_floor": str(floor),
                            "acu_ceiling": str(ceiling), "capacity_weight": str(weight),
                            "accepts_tenants": accepts_tenants},
                     detail={"verified": verify})
        session.commit()
        session.refresh(cluster)
        return _view(cluster, 0)


def _verify(ctx: AppContext, url_env: str, aurora_cluster_id: str | None) -> None:
    with ctx.clusters.connect(url_env) as conn:  # ConfigError with the reason when unset/unreachable
        conn.execute("SELECT 1")
    if aurora_cluster_id:
        try:
            ctx.aws.aurora().describe(aurora_cluster_id)
        except ControlPlaneError as exc:
            raise type(exc)(f"{exc} (use --no-verify to register it anyway)") from exc


def list_clusters(ctx: AppContext, actor: Actor) -> list[ClusterView]:
    authorize(ctx, actor, Permission.TENANTS_READ, "cluster.list")
    with ctx.session_factory() as session:
        counts = dict(session.execute(select(Tenant.cluster_name, func.count())
                                      .where(Tenant.status.in_(LIVE)).group_by(Tenant.cluster_name)).all())
        clusters = session.scalars(select(Cluster).order_by(Cluster.created_at, Cluster.name)).all()
        return [_view(c, counts.get(c.name, 0)) for c in clusters]


def _view(c: Cluster, live: int) -> ClusterView:
    return ClusterView(name=c.name, url_env=c.url_env, aurora_cluster_id=c.aurora_cluster_id,
                       acu_floor=Decimal(c.acu_floor), acu_ceiling=Decimal(c.acu_ceiling),
                       capacity_weight=Decimal(c.capacity_weight), accepts_tenants=c.accepts_tenants,
                       live_tenants=live, created_at=c.created_at)

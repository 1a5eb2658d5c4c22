"""Read models for the Scaling screen and `scaling decisions`: the decision log from the catalog,
capacity and utilisation over time from CloudWatch, current Aurora settings from RDS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from control_plane.auth.permissions import Actor, Permission
from control_plane.aws import cloudwatch
from control_plane.aws.cloudwatch import MetricQuery
from control_plane.context import AppContext
from control_plane.core.authorization import authorize
from control_plane.db.models import Cluster, ScalingDecision
from control_plane.errors import ControlPlaneError, NotFound
from control_plane.scaling.service import DIMENSION, RDS_NAMESPACE

DECISION_COLUMNS = ["at", "cluster", "aurora_cluster_id", "action", "outcome", "dry_run", "current_min_acu",
                    "current_max_acu", "new_min_acu", "new_max_acu", "reason", "error", "inputs"]


def list_decisions(ctx: AppContext, actor: Actor, *, cluster: str | None = None, since: datetime | None = None,
                   limit: int = 500) -> list[dict[str, Any]]:
    """Newest first."""
    authorize(ctx, actor, Permission.SCALING_READ, "scaling.decisions")
    query = select(ScalingDecision).order_by(ScalingDecision.at.desc(), ScalingDecision.id.desc()).limit(limit)
    if cluster:
        query = query.where(ScalingDecision.cluster_name == cluster)
    if since:
        query = query.where(ScalingDecision.at >= since)
    with ctx.session_factory() as session:
        return [
            {"at": d.at, "cluster": d.cluster_name, "aurora_cluster_id": d.aurora_cluster_id, "action": d.action,
             "outcome": d.outcome, "dry_run": d.dry_run,
             "current_min_acu": _num(d.current_min_acu), "current_max_acu": _num(d.current_max_acu),
             "new_min_acu": _num(d.new_min_acu), "new_max_acu": _num(d.new_max_acu),
             "reason": d.reason, "error": d.error, "inputs": d.inputs}
            for d in session.scalars(query)
        ]


def decisions_frame(ctx: AppContext, actor: Actor, *, cluster: str | None = None, hours: int = 24) -> pd.DataFrame:
    since = datetime.now(UTC) - timedelta(hours=hours)
    rows = list_decisions(ctx, actor, cluster=cluster, since=since, limit=5000)
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def scaled_clusters(ctx: AppContext, actor: Actor) -> list[dict[str, Any]]:
    """Clusters with an Aurora id, with their current min/max from RDS (or why it is unknown)."""
    authorize(ctx, actor, Permission.SCALING_READ, "scaling.clusters")
    with ctx.session_factory() as session:
        rows = session.scalars(select(Cluster).where(Cluster.aurora_cluster_id.is_not(None))
                               .order_by(Cluster.created_at, Cluster.name)).all()
    clusters = [{"cluster": c.name, "aurora_cluster_id": c.aurora_cluster_id, "acu_floor": float(c.acu_floor),
                 "acu_ceiling": float(c.acu_ceiling), "min_acu": None, "max_acu": None, "status": None,
                 "problem": None} for c in rows]
    if not clusters:
        return clusters
    try:
        found = ctx.aws.aurora().describe_many(c["aurora_cluster_id"] for c in clusters)
    except ControlPlaneError as exc:
        for c in clusters:
            c["problem"] = str(exc)
        return clusters
    for c in clusters:
        aurora = found.get(c["aurora_cluster_id"])
        if aurora is None:
            c["problem"] = "not found in AWS"
            continue
        c.update(min_acu=_num(aurora.min_acu), max_acu=_num(aurora.max_acu), status=aurora.status)
    return clusters


def capacity_history(ctx: AppContext, actor: Actor, cluster: str, hours: int = 24,
                     now: datetime | None = None) -> pd.DataFrame:
    """Columns at, capacity_acu (average), utilisation_pct (average); 5-minute points up to a day,
    hourly beyond. Raises ExternalServiceError when CloudWatch cannot be read."""
    authorize(ctx, actor, Permission.SCALING_READ, "scaling.capacity")
    with ctx.session_factory() as session:
        row = session.get(Cluster, cluster)
    if row is None:
        raise NotFound(f"No cluster {cluster!r}.")
    columns = ["at", "capacity_acu", "utilisation_pct"]
    if not row.aurora_cluster_id:
        return pd.DataFrame(columns=columns)
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    period = 300 if hours <= 24 else 3600
    dims = ((DIMENSION, row.aurora_cluster_id),)
    found = cloudwatch.fetch(ctx.aws.client("cloudwatch"), [
        MetricQuery("cap", RDS_NAMESPACE, "ServerlessDatabaseCapacity", dims, "Average", period),
        MetricQuery("util", RDS_NAMESPACE, "ACUUtilization", dims, "Average", period),
    ], end - timedelta(hours=hours), end)
    cap = pd.DataFrame(found["cap"], columns=["at", "capacity_acu"])
    util = pd.DataFrame(found["util"], columns=["at", "utilisation_pct"])
    if cap.empty and util.empty:
        return pd.DataFrame(columns=columns)
    frame = cap.merge(util, on="at", how="outer").sort_values("at").reset_index(drop=True)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame[columns]


def _num(value: Any) -> float | None:
    return None if value is None else float(value)

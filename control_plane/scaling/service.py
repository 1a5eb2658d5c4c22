"""One capacity pass over every cluster with an Aurora id: read, decide, apply, record.

Each cluster's decision is recorded in its own transaction right after it is applied, so a crash
never loses the record of a change that was made; one cluster's failure (missing in AWS,
throttled, denied) is recorded as that cluster's decision and the pass goes on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from control_plane.auth.permissions import system_actor
from control_plane.aws import cloudwatch
from control_plane.aws.cloudwatch import MetricQuery
from control_plane.aws.rds import AuroraAdapter, AuroraScaling
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.db.models import Cluster, ScalingDecision
from control_plane.errors import ControlPlaneError
from control_plane.scaling.policy import Decision, Observation, PolicyConfig, decide

RDS_NAMESPACE = "AWS/RDS"
DIMENSION = "DBClusterIdentifier"


@dataclass(frozen=True)
class Target:
    cluster_name: str
    aurora_id: str
    floor: Decimal
    ceiling: Decimal


@dataclass(frozen=True)
class Outcome:
    cluster_name: str
    aurora_cluster_id: str
    action: str
    outcome: str  # applied | dry_run | skipped | failed
    dry_run: bool
    current_min: Decimal | None
    current_max: Decimal | None
    new_min: Decimal | None
    new_max: Decimal | None
    reason: str
    inputs: dict[str, Any]
    at: datetime
    error: str | None = None


def policy_from_settings(ctx: AppContext) -> PolicyConfig:
    s = ctx.settings
    return PolicyConfig(cooldown=timedelta(minutes=s.scaling_cooldown_minutes),
                        max_step_acu=Decimal(str(s.scaling_max_step_acu)))


def run_capacity_pass(ctx: AppContext, now: datetime, *, dry_run: bool | None = None,
                      policy: PolicyConfig | None = None, concurrency: int = 8) -> list[Outcome]:
    dry_run = ctx.settings.scaling_dry_run if dry_run is None else dry_run
    policy = policy or policy_from_settings(ctx)
    targets, last_changes = _load_targets(ctx)
    if not targets:
        return []
    aurora = ctx.aws.aurora()
    try:
        described = aurora.describe_many(t.aurora_id for t in targets)
        metrics = _read_metrics(ctx, targets, now, policy)
    except ControlPlaneError as exc:
        outcomes = [_failure(t, None, str(exc), dry_run, now) for t in targets]
        for outcome in outcomes:
            _record(ctx, outcome)
        return outcomes

    def one(target: Target) -> Outcome:
        outcome = _decide_and_apply(aurora, target, described.get(target.aurora_id), metrics=metrics,
                                    last_change=last_changes.get(target.cluster_name), policy=policy, now=now,
                                    dry_run=dry_run)
        _record(ctx, outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(targets)))) as pool:
        return list(pool.map(one, targets))


def _load_targets(ctx: AppContext) -> tuple[list[Target], dict[str, datetime]]:
    with ctx.session_factory() as session:
        rows = session.scalars(select(Cluster).where(Cluster.aurora_cluster_id.is_not(None))
                               .order_by(Cluster.name)).all()
        last = dict(session.execute(
            select(ScalingDecision.cluster_name, func.max(ScalingDecision.at))
            .where(ScalingDecision.outcome == "applied").group_by(ScalingDecision.cluster_name)).all())
    targets = [Target(r.name, r.aurora_cluster_id, Decimal(r.acu_floor), Decimal(r.acu_ceiling))
               for r in rows if r.aurora_cluster_id]
    return targets, last


def _read_metrics(ctx: AppContext, targets: list[Target], now: datetime,
                  policy: PolicyConfig) -> dict[str, list[tuple[datetime, float]]]:
    """Aggregates computed by CloudWatch itself: one period per window, so a pass costs a few calls
    whatever the metric resolution."""
    end = now.replace(second=0, microsecond=0)
    client = ctx.aws.client("cloudwatch")
    up_s, down_s = int(policy.up_window.total_seconds()), int(policy.down_window.total_seconds())
    short: list[MetricQuery] = []
    long: list[MetricQuery] = []
    for t in targets:
        dims = ((DIMENSION, t.aurora_id),)
        short += [MetricQuery(f"{t.aurora_id}|umin", RDS_NAMESPACE, "ACUUtilization", dims, "Minimum", up_s),
                  MetricQuery(f"{t.aurora_id}|un", RDS_NAMESPACE, "ACUUtilization", dims, "SampleCount", up_s),
                  MetricQuery(f"{t.aurora_id}|cap", RDS_NAMESPACE, "ServerlessDatabaseCapacity", dims, "Average", 60)]
        long += [MetricQuery(f"{t.aurora_id}|dmax", RDS_NAMESPACE, "ACUUtilization", dims, "Maximum", down_s),
                 MetricQuery(f"{t.aurora_id}|dn", RDS_NAMESPACE, "ACUUtilization", dims, "SampleCount", down_s),
                 MetricQuery(f"{t.aurora_id}|cpeak", RDS_NAMESPACE, "ServerlessDatabaseCapacity", dims, "Maximum",
                             down_s)]
    found = cloudwatch.fetch(client, short, end - policy.up_window, end)
    found.update(cloudwatch.fetch(client, long, end - policy.down_window, end))
    return found


def _first(series: list[tuple[datetime, float]]) -> float | None:
    return series[0][1] if series else None


def _decide_and_apply(aurora: AuroraAdapter, target: Target, current: AuroraScaling | None, *,
                      metrics: dict[str, list[tuple[datetime, float]]], last_change: datetime | None,
                      policy: PolicyConfig, now: datetime, dry_run: bool) -> Outcome:
    if current is None:
        return _failure(target, None, f"Aurora cluster {target.aurora_id!r} was not found in AWS (account/region "
                                      "of the credentials in use); check the id registered with `clusters add`.",
                        dry_run, now)
    if not current.is_serverless_v2:
        return _failure(target, current, f"Aurora cluster {target.aurora_id!r} has no Serverless v2 scaling "
                                         "configuration; nothing to scale.", dry_run, now)
    key = target.aurora_id
    capacity = metrics.get(f"{key}|cap", [])
    observation = Observation(
        current_min=current.min_acu, current_max=current.max_acu, floor=target.floor, ceiling=target.ceiling,
        util_min_up_window=_first(metrics.get(f"{key}|umin", [])),
        util_samples_up_window=int(_first(metrics.get(f"{key}|un", [])) or 0),
        util_max_down_window=_first(metrics.get(f"{key}|dmax", [])),
        util_samples_down_window=int(_first(metrics.get(f"{key}|dn", [])) or 0),
        capacity_peak_down_window=_first(metrics.get(f"{key}|cpeak", [])),
        capacity_latest=capacity[-1][1] if capacity else None,
        last_change_at=last_change,
    )
    decision = decide(observation, policy, now)
    base = _outcome(target, current, decision, dry_run, now)
    if not decision.changes:
        return base
    if decision.blocked_by_cooldown:
        return replace(base, outcome="skipped")
    if dry_run:
        return replace(base, outcome="dry_run", reason=decision.reason + " (dry run: not applied)")
    try:
        aurora.set_capacity(target.aurora_id, decision.new_min, decision.new_max)
    except ControlPlaneError as exc:
        return replace(base, outcome="failed", error=str(exc))
    return replace(base, outcome="applied")


def _outcome(target: Target, current: AuroraScaling, decision: Decision, dry_run: bool, now: datetime) -> Outcome:
    return Outcome(
        cluster_name=target.cluster_name, aurora_cluster_id=target.aurora_id, action=decision.action,
        outcome="skipped", dry_run=dry_run, current_min=current.min_acu, current_max=current.max_acu,
        new_min=decision.new_min, new_max=decision.new_max, reason=decision.reason, inputs=decision.inputs, at=now,
    )


def _failure(target: Target, current: AuroraScaling | None, message: str, dry_run: bool,
             now: datetime) -> Outcome:
    return Outcome(
        cluster_name=target.cluster_name, aurora_cluster_id=target.aurora_id, action="error", outcome="failed",
        dry_run=dry_run, current_min=current.min_acu if current else None,
        current_max=current.max_acu if current else None, new_min=None, new_max=None,
        reason="could not evaluate the cluster", inputs={"floor": str(target.floor), "ceiling": str(target.ceiling)},
        error=message, at=now,
    )


def _record(ctx: AppContext, outcome: Outcome, actor_name: str = "job:aurora_capacity") -> None:
    with ctx.session_factory() as session:
        session.add(ScalingDecision(
            at=outcome.at, cluster_name=outcome.cluster_name, aurora_cluster_id=outcome.aurora_cluster_id,
            action=outcome.action, outcome=outcome.outcome, dry_run=outcome.dry_run,
            current_min_acu=outcome.current_min, current_max_acu=outcome.current_max,
            new_min_acu=outcome.new_min, new_max_acu=outcome.new_max, reason=outcome.reason,
            inputs=outcome.inputs, error=outcome.error,
        ))
        if outcome.outcome == "applied":
            audit.record(session, system_actor(actor_name), "cluster.scale", target=outcome.cluster_name,
                         reason=outcome.reason,
                         before={"min_acu": str(outcome.current_min), "max_acu": str(outcome.current_max)},
                         after={"min_acu": str(outcome.new_min), "max_acu": str(outcome.new_max)},
                         detail={"aurora_cluster_id": outcome.aurora_cluster_id})
        session.commit()


def summarise(outcomes: list[Outcome]) -> str:
    if not outcomes:
        return "no cluster has an Aurora id; nothing to do"
    counts: dict[str, int] = {}
    for o in outcomes:
        label = "no_change" if o.action == "no_change" else f"{o.action}/{o.outcome}"
        counts[label] = counts.get(label, 0) + 1
    parts = ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))
    return f"{len(outcomes)} clusters: {parts}"


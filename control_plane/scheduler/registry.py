"""Every scheduled job in one place: explicit ids, schedules and timeouts."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from control_plane.scheduler.context import JobContext

if TYPE_CHECKING:
    from control_plane.config import Settings


@dataclass(frozen=True)
class JobSpec:
    id: str
    module: str  # exposes run(context) -> str
    interval_seconds: int
    timeout_seconds: int
    description: str

    def load(self) -> Callable[[JobContext], str]:
        return importlib.import_module(self.module).run


JOBS: tuple[JobSpec, ...] = (
    JobSpec("health_sweep", "jobs.health_sweep", 60, 55, "probe every active tenant, endpoint and platform target"),
    JobSpec("check_rollup", "jobs.check_rollup", 3600, 600, "roll raw checks up per hour/day and prune old ones"),
    JobSpec("usage_rollup", "jobs.usage_rollup", 3600, 900, "per-tenant storage, rows and CloudWatch usage"),
    JobSpec("aurora_capacity", "jobs.aurora_capacity", 300, 240, "Serverless v2 min/max from CloudWatch utilisation"),
    JobSpec("noisy_neighbours", "jobs.noisy_neighbours", 3600, 600, "flag tenants whose usage jumps over baseline"),
    JobSpec("reconcile", "jobs.reconcile", 3600, 600, "catalog vs schemas and roles on every cluster"),
    JobSpec("cluster_posture", "jobs.cluster_posture", 86400, 600, "security posture of every cluster"),
    JobSpec("archive_purge", "jobs.archive_purge", 86400, 1800, "delete archives past their retention period"),
    JobSpec("fleet_migrations", "jobs.fleet_migrations", 30, 25, "drive queued tenant schema migration runs"),
)


def for_settings(settings: Settings) -> tuple[JobSpec, ...]:
    """The registry as configured: the health sweep runs every CP_HEALTH_INTERVAL_SECONDS, and must
    finish (timeout) a few seconds before the next one is due."""
    interval = settings.health_interval_seconds
    return tuple(replace(s, interval_seconds=interval, timeout_seconds=interval - max(1, interval // 12))
                 if s.id == "health_sweep" else s for s in JOBS)


def get(job_id: str, extra: tuple[JobSpec, ...] = ()) -> JobSpec:
    for spec in (*JOBS, *extra):
        if spec.id == job_id:
            return spec
    raise KeyError(job_id)


def load_extra(module: str | None) -> tuple[JobSpec, ...]:
    """Jobs from another module's `JOBS` (tests register failing and hanging jobs this way; the
    production registry above never lists them)."""
    if not module:
        return ()
    specs = tuple(importlib.import_module(module).JOBS)
    clash = {s.id for s in specs} & {s.id for s in JOBS}
    if clash:
        raise ValueError(f"extra jobs reuse registered ids: {', '.join(sorted(clash))}")
    return specs

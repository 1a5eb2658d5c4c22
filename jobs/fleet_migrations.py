"""Job `fleet_migrations` (every 30 s): drives the queued migration runs (started with
`tenants migrate --queue` or from the app) one step at a time. A soak never blocks it: a run that
is soaking is left until its soak is over, and a long wave stops at the job's timeout and carries
on at the next tick (docs/migrations.md "Worker")."""

from __future__ import annotations

from control_plane.auth.permissions import system_actor
from control_plane.fleet import service
from control_plane.fleet.run import Hooks
from control_plane.scheduler.context import JobContext


def run(context: JobContext) -> str:
    runs = service.queued(context.app)
    if not runs:
        return "no queued migration run"
    hooks = Hooks(should_stop=context.cancelled.is_set, clock=context.now)
    steps = [(run_id, service.drive(context.app, system_actor("fleet-worker"), run_id, wait=False, hooks=hooks))
             for run_id in runs]
    return "; ".join(f"run {run_id}: {step.status} ({step.detail})" for run_id, step in steps)

"""Job `health_sweep`: probe every active tenant's schema and endpoint and the platform targets;
store results, open/resolve incidents, raise alerts (control_plane/uptime/sweep.py does the work)."""

from __future__ import annotations

from control_plane.scheduler.context import JobContext
from control_plane.uptime.sweep import run_sweep


def run(context: JobContext) -> str:
    return run_sweep(context.app, context.now).summary()

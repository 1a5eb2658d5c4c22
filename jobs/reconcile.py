"""Job `reconcile` (hourly): catalog vs schemas and roles on every cluster; drift reported (job
summary and one alert when it changes), never dropped automatically."""

from __future__ import annotations

from control_plane.scheduler.context import JobContext
from control_plane.services.reconcile import report_drift, summarise


def run(context: JobContext) -> str:
    drift, _ = report_drift(context.app, context.now())
    return summarise(drift)

"""Job `reconcile` (hourly): catalog vs schemas and roles on every cluster; drift reported (job
summary and one alert when it changes), never dropped automatically; and every tenant schema's
fingerprint against its template version (alert `schema_drift` when the differences change)."""

from __future__ import annotations

from control_plane.fleet import drift as schema_drift
from control_plane.scheduler.context import JobContext
from control_plane.services.reconcile import report_drift, summarise


def run(context: JobContext) -> str:
    drift, _ = report_drift(context.app, context.now())
    # and every schema against its template version (docs/migrations.md "Drift")
    return f"{summarise(drift)}; {schema_drift.report(context.app, context.now())}"

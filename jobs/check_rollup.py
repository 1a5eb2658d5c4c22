"""Job `check_rollup`: complete the hourly and daily roll-ups of raw checks, prune raw checks
older than CP_RAW_CHECK_RETENTION_DAYS and compact finished hours into hour rows, so storage stays
bounded and small."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from control_plane.scheduler.context import JobContext
from control_plane.uptime import raw
from control_plane.uptime.rollup import roll_up

JOB_RUNS_KEPT = timedelta(days=90)
ALERTS_KEPT = timedelta(days=180)


def run(context: JobContext) -> str:
    app = context.app
    now = context.now()
    with app.session_factory() as session:
        result = roll_up(session, now, timedelta(days=app.settings.raw_check_retention_days))
        runs = session.execute(text("DELETE FROM control_plane.job_runs WHERE started_at < :t AND status <> 'running'"),
                               {"t": now - JOB_RUNS_KEPT}).rowcount
        alerts = session.execute(text("DELETE FROM control_plane.alerts WHERE at < :t"),
                                 {"t": now - ALERTS_KEPT}).rowcount
        session.commit()
    if result.compacted or result.pruned:
        raw.vacuum_recent(app.engine)
    return f"{result.summary()}; pruned {runs} job runs and {alerts} alerts past retention"

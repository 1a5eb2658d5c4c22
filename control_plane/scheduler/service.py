"""Job runs as the Jobs page sees them, and "run now" (Permission.JOBS_RUN).

The job registry lives in the `jobs` package; it is imported lazily so `control_plane` stays
importable in images without the worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import text

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db.models import JobRun
from control_plane.domain.text import CODE_MAX, clean_text
from control_plane.errors import InvalidInput, NotFound

RUN_COLUMNS = ["id", "job_id", "status", "trigger", "started_at", "finished_at", "seconds", "summary", "error", "host"]
STATUSES = ("running", "succeeded", "failed", "timed_out")


def _registry():
    from control_plane.scheduler import registry

    return registry


def job_table(ctx: AppContext, actor: Actor) -> pd.DataFrame:
    """One row per registered job: schedule, next run (as stored for whichever worker leads), last
    run, last success, failures in 24 hours."""
    authorize(ctx, actor, Permission.JOBS_RUN, "jobs.list")
    specs = _registry().for_settings(ctx.settings)
    with ctx.session_factory() as session:
        stats = {row[0]: row[1:] for row in session.execute(text("""
            SELECT job_id,
                   (array_agg(status ORDER BY started_at DESC))[1],
                   max(started_at),
                   max(finished_at) FILTER (WHERE status = 'succeeded'),
                   count(*) FILTER (WHERE status IN ('failed', 'timed_out') AND started_at >= :day),
                   count(*) FILTER (WHERE started_at >= :day),
                   (array_agg(EXTRACT(EPOCH FROM finished_at - started_at) ORDER BY started_at DESC)
                        FILTER (WHERE finished_at IS NOT NULL))[1]
              FROM control_plane.job_runs WHERE started_at >= :since GROUP BY job_id"""),
            {"day": datetime.now(UTC) - timedelta(days=1), "since": datetime.now(UTC) - timedelta(days=30)}).all()}
        next_runs = dict(session.execute(text("SELECT job_id, next_run_at FROM control_plane.job_schedule")).all())
    rows = []
    for spec in specs:
        last_status, last_start, last_success, failures, runs, seconds = stats.get(spec.id, (None,) * 6)
        rows.append({"job_id": spec.id, "description": spec.description, "every_s": spec.interval_seconds,
                     "timeout_s": spec.timeout_seconds, "next_run": next_runs.get(spec.id),
                     "last_status": last_status, "last_started": last_start,
                     "last_seconds": None if seconds is None else round(float(seconds), 1),
                     "last_success": last_success, "runs_24h": int(runs or 0), "failures_24h": int(failures or 0)})
    return pd.DataFrame(rows)


def recent_runs(ctx: AppContext, actor: Actor, *, job_id: str | None = None, status: str | None = None,
                days: int = 7, limit: int = 500) -> pd.DataFrame:
    authorize(ctx, actor, Permission.JOBS_RUN, "jobs.runs")
    job_id = clean_text(job_id, "Job", CODE_MAX) or None
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.")
    params: dict[str, object] = {"since": datetime.now(UTC) - timedelta(days=days), "limit": limit}
    where = "started_at >= :since"
    if job_id:
        where += " AND job_id = :job_id"
        params["job_id"] = job_id
    if status:
        where += " AND status = :status"
        params["status"] = status
    with ctx.session_factory() as session:
        rows = session.execute(text(f"""
            SELECT id, job_id, status, trigger, started_at, finished_at,
                   EXTRACT(EPOCH FROM COALESCE(finished_at, now()) - started_at), summary, error, host
              FROM control_plane.job_runs WHERE {where} ORDER BY started_at DESC, id DESC LIMIT :limit"""),
            params).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=RUN_COLUMNS)
    frame["seconds"] = pd.to_numeric(frame["seconds"]).astype("float64").round(2)
    return frame


def run_now(ctx: AppContext, actor: Actor, job_id: str) -> int:
    """Record a manual run (with its audit entry, one transaction) and start it in this process.
    Returns the run id; the run's outcome appears in job_runs like any other."""
    job_id = clean_text(job_id, "Job", CODE_MAX)
    authorize(ctx, actor, Permission.JOBS_RUN, "job.run_now", target=job_id)
    registry = _registry()
    try:
        spec = registry.get(job_id)
    except KeyError:
        raise NotFound(f"No job {job_id!r}; known jobs: {', '.join(s.id for s in registry.JOBS)}.") from None
    from control_plane.scheduler.runner import HOST, start_background

    with ctx.session_factory() as session:
        run = JobRun(job_id=job_id, status="running", host=HOST, trigger=f"manual:{actor.name}",
                     started_at=datetime.now(UTC))
        session.add(run)
        session.flush()
        audit.record(session, actor, "job.run_now", target=job_id, detail={"run_id": run.id})
        session.commit()
        run_id = run.id
    start_background(ctx, spec, run_id)
    return run_id


def leader(ctx: AppContext, actor: Actor) -> dict[str, object] | None:
    """Which process schedules jobs now (None: no worker is leader, so nothing runs on schedule)."""
    authorize(ctx, actor, Permission.JOBS_RUN, "jobs.leader")
    from control_plane.scheduler.leader import current_leader

    return current_leader(ctx.catalog_url)

"""Run one job and record it in control_plane.job_runs: start, end, status, summary, error.

A job runs in a thread of its own so the runner can stop waiting at the job's timeout; it is then
recorded `timed_out` and abandoned (Python cannot kill a thread), its `cancelled` event set for
jobs that check it. A per-job advisory lock, held by the job's thread until it really ends, keeps
two runs of one job from overlapping in any process, so a hung run blocks its own job only.
Nothing here raises: a failure of the job or of the recording is logged and recorded where possible.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import select, update

from control_plane.adapters.clusters import libpq_url
from control_plane.context import AppContext
from control_plane.db.models import JobRun
from jobs.context import JobContext
from jobs.registry import JobSpec

log = logging.getLogger(__name__)

HOST = f"{socket.gethostname()}:{os.getpid()}"
JOB_LOCK_CLASS = 72_100_005
ERROR_MAX = 4000
SUMMARY_MAX = 2000


@dataclass(frozen=True)
class RunOutcome:
    run_id: int | None
    status: str  # succeeded | failed | timed_out
    summary: str | None
    error: str | None


def start_record(ctx: AppContext, job_id: str, trigger: str) -> int:
    with ctx.session_factory() as session:
        run = JobRun(job_id=job_id, status="running", host=HOST, trigger=trigger, started_at=datetime.now(UTC))
        session.add(run)
        session.commit()
        return run.id


def finish_record(ctx: AppContext, run_id: int, status: str, summary: str | None, error: str | None) -> None:
    with ctx.session_factory() as session:
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            status=status, finished_at=datetime.now(UTC),
            summary=None if summary is None else summary[:SUMMARY_MAX],
            error=None if error is None else error[:ERROR_MAX]))
        session.commit()


def _try_job_lock(ctx: AppContext, job_id: str) -> psycopg.Connection | None:
    conn = psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True, connect_timeout=10,
                           application_name=f"cp-job {job_id}"[:63])
    row = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (JOB_LOCK_CLASS, job_id)).fetchone()
    if row and row[0]:
        return conn
    conn.close()
    return None


def _describe(exc: BaseException) -> str:
    frames = traceback.format_exception(exc)
    head = f"{type(exc).__name__}: {exc}".strip()
    return head + "\n\n" + "".join(frames[-6:])


def execute(ctx: AppContext, spec: JobSpec, trigger: str = "schedule", run_id: int | None = None) -> RunOutcome:
    """Run `spec` now, wait at most its timeout, record the outcome. `run_id`: a row already
    created (by "run now"), else one is created here."""
    try:
        if run_id is None:
            run_id = start_record(ctx, spec.id, trigger)
        lock = _try_job_lock(ctx, spec.id)
    except Exception as exc:  # the catalog is unreachable: nothing to record into; try next time
        log.error("job %s not started: %s", spec.id, exc)
        if run_id is not None:
            _safe_finish(ctx, run_id, "failed", None, f"could not start: {exc}")
        return RunOutcome(run_id, "failed", None, str(exc))
    if lock is None:
        error = (f"{spec.id} is already running (in this or another process, or an earlier run is still hung "
                 "after its timeout); this run was not started.")
        _safe_finish(ctx, run_id, "failed", None, error)
        return RunOutcome(run_id, "failed", None, error)

    job_ctx = JobContext(app=ctx, run_id=run_id, log=logging.getLogger(f"jobs.{spec.id}"))
    result: dict[str, str | None] = {}

    def body() -> None:
        try:
            summary = spec.load()(job_ctx)
            result.update(status="succeeded", summary=None if summary is None else str(summary), error=None)
        except BaseException as exc:  # a job must never take the worker down, whatever it raises
            result.update(status="failed", summary=None, error=_describe(exc))
        finally:
            lock.close()  # releases the job lock, however late the job ends
            if job_ctx.cancelled.is_set():
                log.warning("job %s run %s finished after its timeout: %s", spec.id, run_id, result.get("status"))

    thread = threading.Thread(target=body, name=f"job-{spec.id}-{run_id}", daemon=True)
    thread.start()
    thread.join(spec.timeout_seconds)
    if thread.is_alive():
        job_ctx.cancelled.set()
        error = (f"no result after its timeout of {spec.timeout_seconds}s; the run was abandoned and the job stays "
                 "blocked until it ends.")
        _safe_finish(ctx, run_id, "timed_out", None, error)
        log.error("job %s run %s timed out after %ss", spec.id, run_id, spec.timeout_seconds)
        return RunOutcome(run_id, "timed_out", None, error)
    status, summary, error = result.get("status") or "failed", result.get("summary"), result.get("error")
    _safe_finish(ctx, run_id, status, summary, error)
    if status == "failed":
        log.error("job %s run %s failed: %s", spec.id, run_id, (error or "").splitlines()[0:1])
    else:
        log.info("job %s run %s: %s", spec.id, run_id, summary)
    return RunOutcome(run_id, status, summary, error)


def start_background(ctx: AppContext, spec: JobSpec, run_id: int) -> threading.Thread:
    """Run an already-recorded run in a background thread (the app's "Run now")."""
    thread = threading.Thread(target=execute, args=(ctx, spec), kwargs={"run_id": run_id},
                              name=f"run-now-{spec.id}", daemon=True)
    thread.start()
    return thread


def _safe_finish(ctx: AppContext, run_id: int | None, status: str, summary: str | None, error: str | None) -> None:
    if run_id is None:
        return
    try:
        finish_record(ctx, run_id, status, summary, error)
    except Exception as exc:  # the catalog went away mid-run; the next leader marks the run abandoned
        log.error("could not record the end of run %s: %s", run_id, exc)


def mark_abandoned(ctx: AppContext, timeouts: dict[str, int], grace: timedelta = timedelta(minutes=1)) -> int:
    """Runs still `running` long after their timeout belong to a worker that died: record that."""
    now = datetime.now(UTC)
    default = ctx.settings.job_timeout_seconds
    count = 0
    with ctx.session_factory() as session:
        for run in session.scalars(select(JobRun).where(JobRun.status == "running")):
            limit = timedelta(seconds=timeouts.get(run.job_id, default)) + grace
            if run.started_at < now - limit:
                run.status, run.finished_at = "failed", now
                run.error = f"the worker running it ({run.host}) stopped before it finished; no result was recorded."
                count += 1
        session.commit()
    return count

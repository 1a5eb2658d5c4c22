"""Run one job and record it in control_plane.job_runs: start, end, status, summary, error.

A job runs in a thread of its own so the runner can stop waiting at the job's timeout; it is then
recorded `timed_out` and abandoned (Python cannot kill a thread), its `cancelled` event set for
jobs that check it. A per-job advisory lock, held by the job's thread until it really ends, keeps
two runs of one job from overlapping in any process, so a hung run blocks its own job only. The run
row names the catalog session holding that lock (`backend_pid`), so a run whose worker died or lost
the database is found and closed (`jobs.schedule.close_orphaned`) without waiting for its timeout.
Scheduled runs are claimed per occurrence (`execute_scheduled`, see control_plane/scheduler/schedule.py).
Nothing here raises: a failure of the job or of the recording is logged and recorded where possible.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import text, update

from control_plane.clock import utcnow
from control_plane.context import AppContext
from control_plane.db import advisory_locks
from control_plane.db.models import JobRun
from control_plane.db.privileged import privileged_conninfo
from control_plane.scheduler import schedule
from control_plane.scheduler.context import JobContext
from control_plane.scheduler.registry import JobSpec
from control_plane.scheduler.schedule import JOB_LOCK_CLASS, Claim

log = logging.getLogger(__name__)

HOST = f"{socket.gethostname()}:{os.getpid()}"
ERROR_MAX = 4000
SUMMARY_MAX = 2000
__all__ = ["HOST", "JOB_LOCK_CLASS", "RunOutcome", "close_orphaned", "execute", "execute_scheduled",
           "start_background"]

# Jobs running in this process. The advisory lock alone is not enough: when the catalog restarts
# the lock goes with the session while the job's thread may still be working.
_active: set[str] = set()
_active_lock = threading.Lock()


@dataclass(frozen=True)
class RunOutcome:
    run_id: int | None
    status: str  # succeeded | failed | timed_out
    summary: str | None
    error: str | None



ORPHAN_MARK = "orphaned:"  # how schedule.close_orphaned's error starts


def finish_record(ctx: AppContext, run_id: int, status: str, summary: str | None, error: str | None) -> bool:
    """Record a run's end; False when the row was already closed otherwise (timed out, worker
    stopping). A run closed as orphaned meanwhile (its catalog session was lost while the job went
    on) is shown as what it was: its real end replaces the orphan mark, and its summary says so."""
    summary = None if summary is None else summary[:SUMMARY_MAX]
    error = None if error is None else error[:ERROR_MAX]
    with ctx.session_factory() as session:
        ended = session.execute(update(JobRun).where(JobRun.id == run_id, JobRun.status == "running").values(
            status=status, finished_at=datetime.now(UTC), summary=summary, error=error)).rowcount
        late = None
        if not ended:
            late = session.execute(text("""
                UPDATE control_plane.job_runs
                   SET status = :status, summary = pg_catalog.concat_ws(E'\\n', CAST(:summary AS pg_catalog.text),
                           'note: closed as orphaned at ' || pg_catalog.to_char(finished_at AT TIME ZONE 'UTC',
                           'YYYY-MM-DD HH24:MI:SS') || ' UTC (its catalog session was lost while it ran), then '
                           || 'ended ' || CAST(:status AS pg_catalog.text) || ' at ' || pg_catalog.to_char(
                           CAST(:now AS pg_catalog.timestamptz) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
                           || ' UTC.'),
                       error = :error, finished_at = :now
                 WHERE id = :id AND status = 'failed'
                   AND pg_catalog.starts_with(error, CAST(:mark AS pg_catalog.text))
                RETURNING id"""), {"status": status, "summary": summary, "error": error, "now": datetime.now(UTC),
                                   "id": run_id, "mark": ORPHAN_MARK}).scalar()
        session.commit()
    if late is not None:
        log.warning("run %s ended %s after it had been closed as orphaned; its real end is recorded", run_id, status)
    elif not ended:
        log.warning("run %s ended %s after it had been closed; its record is kept", run_id, status)
    return bool(ended or late is not None)


def _job_session(ctx: AppContext, job_id: str) -> psycopg.Connection:
    return psycopg.connect(privileged_conninfo(ctx.catalog_url), autocommit=True, connect_timeout=10,
                           application_name=f"cp-job {job_id}"[:63])


def _try_job_lock(conn: psycopg.Connection, job_id: str) -> bool:
    with _active_lock:
        if job_id in _active:
            return False
        if advisory_locks.try_lock(conn, advisory_locks.job_run(job_id)):
            _active.add(job_id)
            return True
    return False


def _release(conn: psycopg.Connection, job_id: str, locked: bool) -> None:
    try:
        if locked and not conn.closed:
            try:  # at once: closing alone lets the server drop the lock a moment after this returns
                advisory_locks.unlock(conn, advisory_locks.job_run(job_id))
            except psycopg.Error:
                pass  # the session is gone, and its lock with it
        conn.close()  # releases the job lock in any case
    finally:
        if locked:
            with _active_lock:
                _active.discard(job_id)


def _describe(exc: BaseException) -> str:
    frames = traceback.format_exception(exc)
    head = f"{type(exc).__name__}: {exc}".strip()
    return head + "\n\n" + "".join(frames[-6:])


def execute(ctx: AppContext, spec: JobSpec, trigger: str = "schedule", run_id: int | None = None) -> RunOutcome:
    """Run `spec` now, outside the schedule, wait at most its timeout, record the outcome.
    `run_id`: a row already created (by "run now"), else one is created here."""
    try:
        conn = _job_session(ctx, spec.id)
    except Exception as exc:  # the catalog is unreachable: nothing to record into; try next time
        return _not_started(ctx, spec, run_id, exc)
    locked = False
    try:
        locked = _try_job_lock(conn, spec.id)
        run_id = schedule.start_run(conn, spec.id, trigger=trigger, host=HOST, now=utcnow(), owned=locked,
                                    run_id=run_id)
    except Exception as exc:
        _release(conn, spec.id, locked)
        return _not_started(ctx, spec, run_id, exc)
    return _run(ctx, spec, conn, run_id, locked)


def execute_scheduled(ctx: AppContext, spec: JobSpec, *, leader_pid: int | None, now: datetime, by: str,
                      on_claim: Callable[[Claim], None] | None = None,
                      abort: threading.Event | None = None) -> tuple[Claim, RunOutcome | None]:
    """Claim `spec`'s due occurrence (only while the session `leader_pid` holds the leader lock) and
    run it. Returns the claim and, when this call took the occurrence, the run's outcome.
    `on_claim` is told before the job starts (the worker re-aligns its timer with the stored schedule);
    `abort` set (the worker is stopping) ends the wait for the job early."""
    conn = _job_session(ctx, spec.id)  # errors go to the caller: nothing was claimed
    locked = False
    try:
        locked = _try_job_lock(conn, spec.id)
        claimed = schedule.claim(conn, spec.id, leader_pid=leader_pid, now=now, host=HOST, owned=locked, by=by)
    except BaseException:
        _release(conn, spec.id, locked)
        raise
    if on_claim is not None:
        try:
            on_claim(claimed)
        except Exception as exc:  # the timer is a convenience; the stored schedule is what counts
            log.warning("job %s: could not re-align the timer: %s", spec.id, exc)
    if claimed.run_id is None:
        _release(conn, spec.id, locked)
        return claimed, None
    return claimed, _run(ctx, spec, conn, claimed.run_id, locked, abort=abort)


def _not_started(ctx: AppContext, spec: JobSpec, run_id: int | None, exc: Exception) -> RunOutcome:
    log.error("job %s not started: %s", spec.id, exc)
    if run_id is not None:
        _safe_finish(ctx, run_id, "failed", None, f"could not start: {exc}")
    return RunOutcome(run_id, "failed", None, str(exc))


def _run(ctx: AppContext, spec: JobSpec, conn: psycopg.Connection, run_id: int, locked: bool, *,
         abort: threading.Event | None = None) -> RunOutcome:
    if not locked:
        _release(conn, spec.id, locked)
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
            # The end is recorded while this session still holds the job lock, and only then is the
            # lock released: a sweep never finds a finished run `running` without its lock.
            try:
                _safe_finish(ctx, run_id, result.get("status") or "failed", result.get("summary"), result.get("error"))
            finally:
                _release(conn, spec.id, locked)  # releases the job lock, however late the job ends
            if job_ctx.cancelled.is_set():
                log.warning("job %s run %s finished after its timeout: %s", spec.id, run_id, result.get("status"))

    thread = threading.Thread(target=body, name=f"job-{spec.id}-{run_id}", daemon=True)
    thread.start()
    # Abandoned runs are recorded before the job is told to stop (`cancelled`): a job that stops at
    # once would otherwise record its own end first.
    if _wait(thread, spec.timeout_seconds, abort):
        error = ("the worker was stopped before this run finished; the job was asked to stop and its result "
                 "is unknown.")
        recorded = _safe_finish(ctx, run_id, "failed", None, error)
        job_ctx.cancelled.set()
        if recorded or not _ended_meanwhile(thread):
            log.warning("job %s run %s left unfinished: the worker is stopping", spec.id, run_id)
            return RunOutcome(run_id, "failed", None, error)
    elif thread.is_alive():
        error = (f"no result after its timeout of {spec.timeout_seconds}s; the run was abandoned and the job stays "
                 "blocked until it ends.")
        recorded = _safe_finish(ctx, run_id, "timed_out", None, error)
        job_ctx.cancelled.set()
        if recorded or not _ended_meanwhile(thread):
            log.error("job %s run %s timed out after %ss", spec.id, run_id, spec.timeout_seconds)
            return RunOutcome(run_id, "timed_out", None, error)
    status, summary, error = result.get("status") or "failed", result.get("summary"), result.get("error")
    if status == "failed":
        log.error("job %s run %s failed: %s", spec.id, run_id, (error or "").splitlines()[0:1])
    else:
        log.info("job %s run %s: %s", spec.id, run_id, summary)
    return RunOutcome(run_id, status, summary, error)


def _ended_meanwhile(thread: threading.Thread) -> bool:
    """The run's end was not recorded as abandoned: did the job end (and record itself) meanwhile?"""
    thread.join(5)
    return not thread.is_alive()


def _wait(thread: threading.Thread, timeout: float, abort: threading.Event | None) -> bool:
    """Wait for the job's thread up to `timeout`; True when `abort` cut the wait short (a stopping
    worker does not sit out a long job: its thread is a daemon and ends with the process)."""
    if abort is None:
        thread.join(timeout)
        return False
    deadline = time.monotonic() + timeout
    while thread.is_alive() and (remaining := deadline - time.monotonic()) > 0:
        if abort.wait(min(0.5, remaining)):
            return thread.is_alive()
    return False


def start_background(ctx: AppContext, spec: JobSpec, run_id: int) -> threading.Thread:
    """Run an already-recorded run in a background thread (the app's "Run now")."""
    thread = threading.Thread(target=execute, args=(ctx, spec), kwargs={"run_id": run_id},
                              name=f"run-now-{spec.id}", daemon=True)
    thread.start()
    return thread


def _safe_finish(ctx: AppContext, run_id: int | None, status: str, summary: str | None, error: str | None) -> bool:
    if run_id is None:
        return False
    try:
        return finish_record(ctx, run_id, status, summary, error)
    except Exception as exc:  # the catalog went away mid-run; the leader closes the run as orphaned
        log.error("could not record the end of run %s: %s", run_id, exc)
        return False


def close_orphaned(ctx: AppContext, *, now: datetime | None = None,
                   grace: timedelta = schedule.ORPHAN_GRACE) -> int:
    """Close runs left `running` by a worker that died or lost its catalog session (see
    jobs.schedule.close_orphaned); the count closed."""
    closed = schedule.close_orphaned(ctx, now=now or utcnow(), grace=grace)
    for run_id, job_id, host in closed:
        log.warning("closed orphaned run %s of %s (worker %s lost its catalog session)", run_id, job_id, host)
    return len(closed)

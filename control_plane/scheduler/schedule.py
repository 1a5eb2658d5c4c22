"""The schedule in the catalog (`control_plane.job_schedule`) and the claim of one occurrence.

Every query of the worker's scheduling lives here:
- `ensure`: a new leader reads each job's stored next due time (and adds jobs never scheduled), so
  it carries on where the last leader stopped instead of running every job at takeover.
- `claim`: in one transaction on the run's own session, re-check that this process's leader
  session still holds the leader lock, take the due occurrence (missed ones coalesced into the
  latest), move the job's next time on by whole intervals, and insert the run row
  (`INSERT ... ON CONFLICT DO NOTHING` on (job_id, scheduled_for)): two leaders can never both run
  one occurrence, and a leader whose lock is gone claims nothing.
- `close_orphaned`: `running` rows whose catalog session no longer holds their job lock belong to a
  worker that died or lost the database; they are closed as failed with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import text

from control_plane.context import AppContext
from control_plane.db import advisory_locks
from control_plane.scheduler.registry import JobSpec

JOB_LOCK_CLASS = advisory_locks.JOB_RUN_CLASS  # per-job advisory locks: (JOB_LOCK_CLASS, hashtext(job_id))
STAGGER_SECONDS = 2.0  # jobs never scheduled before start this far apart, not all at once
ORPHAN_GRACE = timedelta(minutes=2)  # a `running` row not yet bound to a session may be starting


@dataclass(frozen=True)
class Claim:
    """What `claim` found. `run_id` is set only when this call took the occurrence."""

    leader: bool  # False: the leader session no longer holds the lock; nothing was claimed
    run_id: int | None = None
    occurrence: datetime | None = None
    next_run_at: datetime | None = None  # the job's next due time after this call (None: not scheduled)


def ensure(ctx: AppContext, specs: Iterable[JobSpec], *, now: datetime, by: str) -> dict[str, datetime]:
    """Each job's next due time as stored; jobs without a row get one (staggered from `now`), and a
    job whose interval changed is due no later than one new interval from now."""
    specs = list(specs)
    with ctx.session_factory() as session:
        for i, spec in enumerate(specs):
            session.execute(text("""
                INSERT INTO control_plane.job_schedule AS s (job_id, interval_seconds, next_run_at, updated_by)
                VALUES (:job_id, :interval, :first, :by)
                ON CONFLICT (job_id) DO UPDATE
                   SET interval_seconds = EXCLUDED.interval_seconds,
                       next_run_at = LEAST(s.next_run_at, :latest), updated_at = now(), updated_by = :by
                 WHERE s.interval_seconds <> EXCLUDED.interval_seconds"""),
                {"job_id": spec.id, "interval": spec.interval_seconds, "by": by,
                 "first": now + timedelta(seconds=STAGGER_SECONDS * i),
                 "latest": now + timedelta(seconds=spec.interval_seconds)})
        rows = session.execute(text(
            "SELECT job_id, next_run_at FROM control_plane.job_schedule WHERE job_id = ANY(:ids)"),
            {"ids": [s.id for s in specs]}).all()
        session.commit()
    return {job_id: next_run_at for job_id, next_run_at in rows}


def due_occurrence(next_run_at: datetime, interval_seconds: int, now: datetime) -> tuple[datetime, datetime]:
    """(the latest occurrence on the job's grid at or before `now`, the one after it): however many
    were missed, one run stands for them, and the grid (e.g. minute past the hour) is kept."""
    missed = math.floor((now - next_run_at).total_seconds() / interval_seconds)
    occurrence = next_run_at + timedelta(seconds=interval_seconds * max(0, missed))
    return occurrence, occurrence + timedelta(seconds=interval_seconds)


def claim(conn: psycopg.Connection, job_id: str, *, leader_pid: int | None, now: datetime, host: str,
          owned: bool, by: str) -> Claim:
    """Take `job_id`'s due occurrence on `conn` (the session that holds the run's job lock when
    `owned`). Nothing is claimed unless the session `leader_pid` holds the leader lock right now."""
    leading_sql, key_params = advisory_locks.held_by(advisory_locks.scheduler_leader())
    with conn.transaction():
        row = conn.execute(f"""
            SELECT s.next_run_at, s.interval_seconds, {leading_sql}
              FROM control_plane.job_schedule s WHERE s.job_id = %s FOR UPDATE OF s""",
            (*key_params, leader_pid, job_id)).fetchone()
        if row is None:
            return Claim(leader=True)
        next_run_at, interval, leading = row
        if not leading:
            return Claim(leader=False, next_run_at=next_run_at)
        if next_run_at > now:
            return Claim(leader=True, next_run_at=next_run_at)
        occurrence, following = due_occurrence(next_run_at, interval, now)
        conn.execute("UPDATE control_plane.job_schedule SET next_run_at = %s, last_run_at = %s, updated_at = now(), "
                     "updated_by = %s WHERE job_id = %s", (following, occurrence, by, job_id))
        run = conn.execute("""
            INSERT INTO control_plane.job_runs (job_id, status, host, trigger, started_at, scheduled_for, backend_pid)
            VALUES (%s, 'running', %s, 'schedule', %s, %s, CASE WHEN %s THEN pg_catalog.pg_backend_pid() END)
            ON CONFLICT (job_id, scheduled_for) WHERE scheduled_for IS NOT NULL DO NOTHING
            RETURNING id""", (job_id, host, now, occurrence, owned)).fetchone()
    return Claim(leader=True, run_id=None if run is None else run[0], occurrence=occurrence, next_run_at=following)


def start_run(conn: psycopg.Connection, job_id: str, *, trigger: str, host: str, now: datetime, owned: bool,
              run_id: int | None = None) -> int:
    """Record an unscheduled run ("run now", run-once) on `conn`, or bind an already recorded one
    (`run_id`) to it; `owned`: `conn` holds the job lock, so the row names this session."""
    if run_id is None:
        row = conn.execute("""
            INSERT INTO control_plane.job_runs (job_id, status, host, trigger, started_at, backend_pid)
            VALUES (%s, 'running', %s, %s, %s, CASE WHEN %s THEN pg_catalog.pg_backend_pid() END) RETURNING id""",
            (job_id, host, trigger, now, owned)).fetchone()
        assert row is not None  # INSERT ... RETURNING always returns the row
        return int(row[0])
    if owned:
        conn.execute("UPDATE control_plane.job_runs SET backend_pid = pg_catalog.pg_backend_pid() "
                     "WHERE id = %s AND status = 'running'", (run_id,))
    return run_id


def close_orphaned(ctx: AppContext, *, now: datetime, grace: timedelta = ORPHAN_GRACE) -> list[tuple[int, str, str]]:
    """Close `running` rows whose worker is gone: the session named in the row no longer holds the
    run's job lock (worker killed, connection lost, catalog restarted), or, for a row never bound to
    a session, it predates the database server's start or is older than `grace`. A run ends by
    recording its end before it releases its lock (runner._run), so a finished run is never caught
    between the two. The lock is matched exactly (this database, the job's key, that session).
    Returns (run id, job id, host) of each closed run."""
    with ctx.session_factory() as session:
        rows = session.execute(text("""
            UPDATE control_plane.job_runs r
               SET status = 'failed', finished_at = :now,
                   error = 'orphaned: the worker running it (' || coalesce(r.host, 'unknown host') || ') lost its '
                           'catalog session before it finished (the process died or the database restarted); '
                           'no result was recorded.'
             WHERE r.status = 'running'
               AND CASE WHEN r.backend_pid IS NOT NULL THEN NOT EXISTS (
                            SELECT 1 FROM pg_catalog.pg_locks l
                             WHERE l.locktype = 'advisory'
                               AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                                                  WHERE d.datname = pg_catalog.current_database())
                               AND l.classid = CAST(:job_class AS pg_catalog.oid)
                               AND l.objid = CAST(pg_catalog.hashtext(r.job_id) AS pg_catalog.oid)
                               AND l.objsubid = 2 AND l.granted AND l.pid = r.backend_pid)
                        ELSE r.started_at < pg_catalog.pg_postmaster_start_time() OR r.started_at < :stale END
            RETURNING r.id, r.job_id, coalesce(r.host, '')"""),
            {"now": now, "stale": now - grace, "job_class": JOB_LOCK_CLASS}).all()
        session.commit()
    return [(int(i), str(j), str(h)) for i, j, h in rows]

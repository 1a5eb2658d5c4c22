"""Start real worker processes (`python -m jobs`) against the test catalog."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, text

from control_plane.db.models import JobRun, JobSchedule
from tests import polling

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, database_url: str, log_path: Path, *args: str) -> None:
        env = {**os.environ, "DATABASE_URL": database_url, "CP_DEMO": "0", "PYTHONPATH": str(ROOT)}
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "jobs", "--extra-jobs", "tests.jobs.sample_jobs", *args],
                                     cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def host_suffix(self) -> str:
        return f":{self.proc.pid}"

    @property
    def lock_name(self) -> str:
        """The application name of this worker's leader-lock session (control_plane/scheduler/leader.py)."""
        return f"cp-leader {socket.gethostname()}:{self.proc.pid}"[:63]

    def is_leader(self) -> bool:
        return "is the leader" in self.log()

    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # a failed test never leaves a worker behind
            self.proc.wait(30)
            raise
        finally:
            self._log.close()


def runs_by(ctx, worker: WorkerProcess, job_id: str | None = None, status: str | None = None) -> list[JobRun]:
    query = select(JobRun).where(JobRun.host.like(f"%{worker.host_suffix}")).order_by(JobRun.id)
    if job_id:
        query = query.where(JobRun.job_id == job_id)
    if status:
        query = query.where(JobRun.status == status)
    with ctx.session_factory() as s:
        return list(s.scalars(query))


def runs_of(ctx, job_id: str) -> list[JobRun]:
    """Every run of `job_id`, whichever worker ran it."""
    with ctx.session_factory() as s:
        return list(s.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)))


def next_run_at(ctx, job_id: str) -> datetime | None:
    with ctx.session_factory() as s:
        row = s.get(JobSchedule, job_id)
        return None if row is None else row.next_run_at


def leader_pid(ctx) -> int | None:
    """The process id of the worker holding the leader lock now (from its session's name)."""
    from control_plane.scheduler.leader import LEADER_OBJECT, LOCK_CLASS

    with ctx.session_factory() as s:
        name = s.execute(text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.classid = CAST(:c AS oid) AND l.objid = CAST(:o AS oid) "
            "AND l.objsubid = 2 AND l.granted"), {"c": LOCK_CLASS, "o": LEADER_OBJECT}).scalar()
    return None if name is None else int(name.rsplit(":", 1)[1])


def terminate_sessions(ctx, application_name: str) -> datetime:
    """End the catalog sessions with this application name, wait until they are gone, and return
    the database's clock at that point."""
    with ctx.session_factory() as s:
        ended = s.execute(text("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                               "WHERE application_name = :n"), {"n": application_name}).scalar()
        assert ended, f"no session named {application_name!r} to terminate"
        return s.execute(text("SELECT clock_timestamp()")).scalar()


def wait_until(predicate, timeout: float, what: str, workers: tuple[WorkerProcess, ...] = ()):
    """tests/polling.py's wait (a readiness wait: at least READY_SECONDS); a timeout shows the
    workers' logs."""
    return polling.wait_for(what, predicate, timeout, explain=lambda: "\n".join(
        f"--- worker {w.proc.pid} ---\n{w.log()[-3000:]}" for w in workers))

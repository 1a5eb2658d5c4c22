"""Start real worker processes (`python -m jobs`) against the test catalog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from control_plane.db.models import JobRun

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


def wait_until(predicate, timeout: float, what: str, workers: tuple[WorkerProcess, ...] = ()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    logs = "\n".join(f"--- worker {w.proc.pid} ---\n{w.log()[-3000:]}" for w in workers)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")

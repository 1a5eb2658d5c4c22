"""The worker process survives a job that raises and one that hangs; run-once and its errors; a run
left `running` by a killed worker or a database crash is closed on recovery, without waiting for
another worker or for its timeout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from control_plane.db import embedded, migrate
from control_plane.db.engine import make_engine, make_session_factory
from control_plane.db.models import JobRun
from tests.jobs.workers import ROOT, WorkerProcess, runs_by, wait_until


def test_raising_and_hanging_jobs_are_recorded_and_never_stop_the_worker(ctx, database_url, tmp_path):
    w = WorkerProcess(database_url, tmp_path / "w.log", "--only", "tick,boom,hang")
    try:
        failed = wait_until(lambda: runs_by(ctx, w, "boom", "failed"), 90, "boom to fail", (w,))
        assert "boom: the sample job failed on purpose" in failed[0].error
        timed_out = wait_until(lambda: runs_by(ctx, w, "hang", "timed_out"), 60, "hang to time out", (w,))
        after = timed_out[0].finished_at
        # The worker is still scheduling: ticks keep succeeding after the hang was abandoned,
        # and the still-hung job is refused instead of piling up.
        wait_until(lambda: [r for r in runs_by(ctx, w, "tick", "succeeded") if r.started_at > after][2:],
                   60, "ticks after the timeout", (w,))
        wait_until(lambda: [r for r in runs_by(ctx, w, "hang", "failed") if "already running" in (r.error or "")],
                   60, "the hung job to be refused", (w,))
        assert w.proc.poll() is None
    finally:
        assert w.stop() == 0


def run_once(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "CP_DEMO": "0", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_run_once(ctx, database_url):
    ok = run_once(database_url, "run-once", "check_rollup")
    assert ok.returncode == 0, ok.stderr
    assert "rolled up" in ok.stdout

    bad = run_once(database_url, "--extra-jobs", "tests.jobs.sample_jobs", "run-once", "boom")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("error: boom failed (run ")
    assert "RuntimeError: boom" in bad.stderr.strip().splitlines()[-1]

    unknown = run_once(database_url, "run-once", "nope")
    assert unknown.returncode == 2 and "unknown job 'nope'" in unknown.stderr and "health_sweep" in unknown.stderr


def test_run_once_exits_with_the_code_of_its_error():
    """A mistake in DATABASE_URL is a configuration error (6), which waiting will not fix; an
    unreachable database (7) is another matter (control_plane/errors.py)."""
    bad_url = run_once("postgresql://u@localhost:notaport/db", "run-once", "check_rollup")
    assert bad_url.returncode == 6, bad_url.stderr
    assert "DATABASE_URL is not a valid PostgreSQL URL" in bad_url.stderr


def _closed(db, run_id: int) -> JobRun | None:
    try:
        with db.session_factory() as s:
            run = s.get(JobRun, run_id)
    except OperationalError:  # the database is still restarting
        return None
    return run if run.status != "running" else None


def _running_linger(db, worker: WorkerProcess) -> list[JobRun]:
    return runs_by(db, worker, "linger", "running")


def test_a_run_left_by_a_killed_worker_is_closed_when_the_next_leader_starts(ctx, database_url, tmp_path):
    a = WorkerProcess(database_url, tmp_path / "a.log", "--only", "linger")
    b = None
    try:
        (run,) = wait_until(lambda: _running_linger(ctx, a), 90, "the long job to start", (a,))
        a.kill()
        b = WorkerProcess(database_url, tmp_path / "b.log", "--only", "tick", "--retry-seconds", "0.3")
        closed = wait_until(lambda: _closed(ctx, run.id), 60, "the killed worker's run to be closed", (b,))
        assert closed.status == "failed"
        assert closed.error.startswith(f"orphaned: the worker running it ({run.host}) lost its catalog session")
        assert run.host.endswith(a.host_suffix)
    finally:
        if b is not None:
            assert b.stop() == 0
        a.stop()


@pytest.fixture
def private_catalog() -> Iterator[SimpleNamespace]:
    """A PostgreSQL of this test's own, so it can crash without touching the session's."""
    data_dir = Path(tempfile.mkdtemp(prefix="cp-test-crash-"))
    server = embedded.start(data_dir)
    engine = make_engine(server.url())
    migrate.upgrade(engine)
    try:
        yield SimpleNamespace(pgdata=data_dir / "pg", url=server.url(), engine=engine, bin_dir=server.bin_dir)
    finally:
        engine.dispose()
        _pg_ctl(server.bin_dir, data_dir / "pg", "-m", "fast", "-w", "stop")
        shutil.rmtree(data_dir, ignore_errors=True)


def _pg_ctl(bin_dir: Path, pgdata: Path, *args: str) -> None:
    # As the data directory's owner: the embedded server runs as an unprivileged user under root.
    owner = pgdata.stat().st_uid
    kwargs = {"user": owner, "group": pgdata.stat().st_gid, "extra_groups": []} if os.geteuid() == 0 else {}
    result = subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(pgdata), *args], capture_output=True, text=True,
                            cwd="/", check=False, timeout=120, **kwargs)
    assert result.returncode == 0, result.stderr


def test_a_run_interrupted_by_a_database_crash_is_closed_when_the_same_worker_reconnects(private_catalog, tmp_path):
    pg = private_catalog
    db = SimpleNamespace(session_factory=make_session_factory(pg.engine))
    w = WorkerProcess(pg.url, tmp_path / "w.log", "--only", "tick,linger", "--retry-seconds", "0.5")
    try:
        (run,) = wait_until(lambda: _running_linger(db, w), 90, "the long job to start", (w,))
        # Immediate shutdown (no checkpoint, every session cut, crash recovery on start), then start.
        _pg_ctl(pg.bin_dir, pg.pgdata, "-m", "immediate", "-w", "-l", str(pg.pgdata / "restart.log"), "restart")
        closed = wait_until(lambda: _closed(db, run.id), 60, "the interrupted run to be closed", (w,))
        assert closed.status == "failed"
        assert closed.error.startswith(f"orphaned: the worker running it ({run.host}) lost its catalog session")
        # Closed by the same worker, leading again after reconnecting (no other worker exists).
        wait_until(lambda: [r for r in runs_by(db, w, "tick", "succeeded") if r.started_at > closed.finished_at],
                   60, "the worker to lead again", (w,))
        assert re.search(r"closed \d+ orphaned runs", w.log())  # a tick cut by the crash may be among them
    finally:
        assert w.stop() == 0

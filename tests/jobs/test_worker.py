"""The worker process survives a job that raises and one that hangs; run-once and its errors."""

from __future__ import annotations

import os
import subprocess
import sys

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

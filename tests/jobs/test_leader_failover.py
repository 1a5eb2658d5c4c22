"""Two real workers: exactly one schedules; kill it and the other takes over within 30 s."""

from __future__ import annotations

import time

from tests.jobs.workers import WorkerProcess, runs_by, wait_until


def test_only_the_leader_runs_jobs_and_a_standby_takes_over(ctx, database_url, tmp_path):
    a = WorkerProcess(database_url, tmp_path / "a.log", "--only", "tick")
    b = None
    try:
        wait_until(lambda: runs_by(ctx, a, "tick", "succeeded"), 90, "the first worker to run jobs", (a,))
        b = WorkerProcess(database_url, tmp_path / "b.log", "--only", "tick")
        wait_until(lambda: "starting with jobs" in b.log(), 90, "the second worker to start", (a, b))
        # Give the standby several of its lock attempts (every 5 s) while the leader keeps ticking.
        seen = len(runs_by(ctx, a, "tick"))
        wait_until(lambda: len(runs_by(ctx, a, "tick")) >= seen + 8, 60, "the leader to keep ticking", (a, b))
        assert runs_by(ctx, b) == [], "the standby ran a job while the leader was alive"
        assert "is the leader" not in b.log()

        a.kill()
        killed_at = time.monotonic()
        wait_until(lambda: runs_by(ctx, b, "tick", "succeeded"), 30, "the standby to take over", (a, b))
        assert time.monotonic() - killed_at < 30
        assert "is the leader" in b.log()
    finally:
        if b is not None:
            assert b.stop() == 0  # SIGTERM: a clean shutdown
        a.stop()

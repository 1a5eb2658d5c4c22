"""Real workers: exactly one schedules; kill it and another takes over within 30 s, keeping the
schedule (no job runs at takeover, each occurrence once); an occurrence due while nobody led runs
once at takeover; a leader that loses its lock session stops starting runs at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.jobs.sample_jobs import HOURLY_SECONDS
from tests.jobs.takeover import Fleet, Tally, check_grid, kill_before_due
from tests.jobs.workers import (
    WorkerProcess,
    leader_pid,
    next_run_at,
    runs_by,
    runs_of,
    terminate_sessions,
    wait_until,
)
from tests.polling import READY_SECONDS


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
        wait_until(lambda: runs_by(ctx, b, "tick", "succeeded"), READY_SECONDS, "the standby to take over", (a, b))
        assert time.monotonic() - killed_at < 30  # docs/operations.md "Worker": within seconds
        assert "is the leader" in b.log()
    finally:
        if b is not None:
            assert b.stop() == 0  # SIGTERM: a clean shutdown
        a.stop()


def _workers(database_url, tmp_path, name: str, *args: str) -> WorkerProcess:
    return WorkerProcess(database_url, tmp_path / f"{name}.log", "--only", "tick,hourly,daily", *args)


def test_a_takeover_keeps_the_hourly_and_daily_schedules(ctx, database_url, tmp_path):
    a = _workers(database_url, tmp_path, "a", "--retry-seconds", "0.5")
    b = None
    try:
        wait_until(lambda: runs_by(ctx, a, "hourly", "succeeded") and runs_by(ctx, a, "daily", "succeeded"), 90,
                   "the first leader to run the hourly and daily jobs", (a,))
        due = next_run_at(ctx, "hourly")
        assert due == runs_by(ctx, a, "hourly")[0].scheduled_for + timedelta(seconds=HOURLY_SECONDS)
        a.kill()
        b = _workers(database_url, tmp_path, "b", "--retry-seconds", "0.5")
        # B leads and keeps ticking for a while, well before the hourly job is due again ...
        wait_until(lambda: len(runs_by(ctx, b, "tick", "succeeded")) >= 3, 60, "the new leader to tick", (b,))
        assert datetime.now(UTC) < due, "the takeover must happen before the hourly job is due for this test"
        # ... and runs neither job at takeover.
        assert runs_by(ctx, b, "hourly") == [] and runs_by(ctx, b, "daily") == []
        hourly = wait_until(lambda: runs_by(ctx, b, "hourly", "succeeded"), HOURLY_SECONDS + 60,
                            "the hourly job to run when due", (b,))
        assert hourly[0].scheduled_for == due and hourly[0].started_at >= due
        assert [r.scheduled_for for r in runs_of(ctx, "hourly")] == [due - timedelta(seconds=HOURLY_SECONDS), due]
        assert len(runs_of(ctx, "daily")) == 1
    finally:
        if b is not None:
            assert b.stop() == 0
        a.stop()


def test_repeated_takeovers_do_not_multiply_runs(ctx, database_url, tmp_path):
    workers = [_workers(database_url, tmp_path, f"w{i}", "--retry-seconds", "0.3") for i in range(2)]
    takeovers = 0
    try:
        first = None
        while takeovers < 6:
            leader = wait_until(lambda: next((w for w in workers if w.proc.pid == leader_pid(ctx)), None), 60,
                                "a leader", tuple(workers))
            # It leads for a few seconds (long enough to start anything it would start at takeover)
            # before it is killed.
            seen = len(runs_by(ctx, leader, "tick", "succeeded"))
            wait_until(lambda: len(runs_by(ctx, leader, "tick", "succeeded")) >= seen + 5, 60, "ticks", (leader,))
            first = first or datetime.now(UTC)
            leader.kill()
            workers.remove(leader)
            workers.append(_workers(database_url, tmp_path, f"w{takeovers + 2}", "--retry-seconds", "0.3"))
            takeovers += 1
        elapsed = (datetime.now(UTC) - first).total_seconds()
        hourly = [r.scheduled_for for r in runs_of(ctx, "hourly")]
        # One hourly run per interval that passed (the first when the schedule was new), one daily run.
        assert 1 <= len(hourly) <= 1 + elapsed // HOURLY_SECONDS + 1, (elapsed, hourly)
        assert all((t - hourly[0]).total_seconds() % HOURLY_SECONDS == 0 for t in hourly)
        assert len(set(hourly)) == len(hourly)
        assert len(runs_of(ctx, "daily")) == 1
    finally:
        for w in workers:
            w.stop()


def test_a_leader_whose_lock_session_is_killed_stops_before_another_takes_over(ctx, database_url, tmp_path):
    # A waits 30 s before asking again after it steps down, so B is the one that takes over.
    a = WorkerProcess(database_url, tmp_path / "a.log", "--only", "tick", "--retry-seconds", "30")
    b = None
    try:
        wait_until(lambda: len(runs_by(ctx, a, "tick", "succeeded")) >= 3, 90, "the leader to tick", (a,))
        b = WorkerProcess(database_url, tmp_path / "b.log", "--only", "tick", "--retry-seconds", "0.3")
        wait_until(lambda: "starting with jobs" in b.log(), 90, "the standby to start", (a, b))
        killed_at = terminate_sessions(ctx, a.lock_name)
        wait_until(lambda: runs_by(ctx, b, "tick", "succeeded"), READY_SECONDS, "the standby to take over", (a, b))
        # A started nothing once its lock session was gone, and every occurrence ran once.
        late = [r for r in runs_by(ctx, a, "tick") if r.started_at > killed_at]
        assert late == [], [(r.started_at, r.scheduled_for) for r in late]
        occurrences = [r.scheduled_for for r in runs_of(ctx, "tick")]
        assert len(set(occurrences)) == len(occurrences)
        assert max(r.scheduled_for for r in runs_by(ctx, a, "tick")) < min(r.scheduled_for for r in runs_by(ctx, b))
        wait_until(lambda: "scheduling paused, stepping down" in a.log(), READY_SECONDS, "A to say it stepped down",
                   (a,))
        assert a.proc.poll() is None
    finally:
        if b is not None:
            assert b.stop() == 0
        assert a.stop() == 0


def test_a_leader_killed_just_before_a_due_time_loses_no_occurrence_and_doubles_none(ctx, database_url, tmp_path):
    # The standbys ask every 0.8 s, so most takeovers come after the due time: the occurrence was
    # due during the gap and must run once at takeover, not merge into the next one.
    # bench/takeover.py runs the same rounds 20 times and prints the figures.
    fleet = Fleet(database_url, tmp_path, retry_seconds=0.8)
    tally = Tally()
    try:
        for _ in range(8):
            kill_before_due(ctx, fleet, tally, before=0.3)
    finally:
        fleet.stop()
    check_grid(ctx, tally)
    assert (tally.kills, tally.lost, tally.doubled, tally.not_succeeded) == (8, [], [], []), tally.line()

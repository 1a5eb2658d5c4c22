"""The schedule kept in the catalog, with an injected clock: a new leader keeps each job's next due
time, a missed run is coalesced into one and only when due, an occurrence is claimed once, and a
leader whose lock session is gone claims nothing."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
import pytest
from sqlalchemy import select

from control_plane.adapters.clusters import libpq_url
from control_plane.db.models import JobRun, JobSchedule
from control_plane.scheduler import registry, runner, schedule
from control_plane.scheduler import service as jobs_service
from control_plane.scheduler.leader import LeaderLock

EXTRA = registry.load_extra("tests.jobs.sample_jobs")
T0 = datetime(2031, 3, 9, 1, 17, 5, tzinfo=UTC)  # any fixed instant: nothing here reads the real clock
HOUR = timedelta(hours=1)


def spec(job_id: str) -> registry.JobSpec:
    return registry.get(job_id, EXTRA)


def hourly(interval: int = 3600) -> registry.JobSpec:
    return registry.JobSpec("hourly_job", "tests.jobs.sample_job_tick", interval, 10, "test: hourly")


@pytest.fixture
def leader(ctx):
    lock = LeaderLock(ctx.catalog_url)
    assert lock.try_acquire()
    yield lock
    lock.release()


def session(ctx) -> psycopg.Connection:
    return psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True)


def claim(ctx, lock: LeaderLock, now: datetime, job_id: str = "hourly_job") -> schedule.Claim:
    with session(ctx) as conn:
        return schedule.claim(conn, job_id, leader_pid=lock.backend_pid, now=now, host="test:1", owned=True,
                              by="test")


def stored(ctx, job_id: str = "hourly_job") -> JobSchedule:
    with ctx.session_factory() as s:
        return s.get(JobSchedule, job_id)


def runs(ctx, job_id: str = "hourly_job") -> list[JobRun]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)))


def test_a_new_leader_keeps_the_stored_next_times(ctx):
    daily = registry.JobSpec("daily_job", "tests.jobs.sample_job_tick", 86400, 10, "test: daily")
    first = schedule.ensure(ctx, [hourly(), daily], now=T0, by="leader-a")
    # Never scheduled before: staggered from now, not all at once.
    assert first == {"hourly_job": T0, "daily_job": T0 + timedelta(seconds=schedule.STAGGER_SECONDS)}
    with ctx.session_factory() as s:
        s.get(JobSchedule, "hourly_job").next_run_at = T0 + 40 * timedelta(minutes=1)
        s.commit()
    # A takeover 10 minutes later keeps both stored times.
    again = schedule.ensure(ctx, [hourly(), daily], now=T0 + timedelta(minutes=10), by="leader-b")
    assert again == {"hourly_job": T0 + timedelta(minutes=40), "daily_job": first["daily_job"]}
    assert stored(ctx).updated_by == "leader-a"


def test_a_shorter_interval_brings_the_next_time_forward_only_as_far_as_needed(ctx):
    schedule.ensure(ctx, [hourly()], now=T0, by="a")
    with ctx.session_factory() as s:
        s.get(JobSchedule, "hourly_job").next_run_at = T0 + 50 * timedelta(minutes=1)
        s.commit()
    assert schedule.ensure(ctx, [hourly(600)], now=T0, by="b") == {"hourly_job": T0 + timedelta(minutes=10)}
    assert schedule.ensure(ctx, [hourly(7200)], now=T0, by="c") == {"hourly_job": T0 + timedelta(minutes=10)}
    assert stored(ctx).interval_seconds == 7200


def test_an_occurrence_runs_only_when_due_and_missed_ones_coalesce_into_one(ctx, leader):
    schedule.ensure(ctx, [hourly()], now=T0, by="a")  # due at T0
    early = claim(ctx, leader, T0 - timedelta(seconds=1))
    assert (early.leader, early.run_id, early.next_run_at) == (True, None, T0)
    assert runs(ctx) == []

    # The leader was away for 3.5 hours: one run, standing for the latest missed occurrence, and
    # the job stays on its grid (minute 17 past the hour).
    late = claim(ctx, leader, T0 + 3.5 * HOUR)
    assert late.run_id is not None and late.occurrence == T0 + 3 * HOUR and late.next_run_at == T0 + 4 * HOUR
    assert claim(ctx, leader, T0 + 3.5 * HOUR).run_id is None
    (run,) = runs(ctx)
    assert (run.status, run.scheduled_for, run.started_at, run.trigger) == (
        "running", T0 + 3 * HOUR, T0 + 3.5 * HOUR, "schedule")
    assert (stored(ctx).next_run_at, stored(ctx).last_run_at) == (T0 + 4 * HOUR, T0 + 3 * HOUR)


def test_concurrent_claims_of_one_occurrence_run_it_once(ctx, leader):
    schedule.ensure(ctx, [hourly()], now=T0, by="a")
    results: list[schedule.Claim] = []
    start = threading.Barrier(8)

    def one() -> None:
        start.wait()
        results.append(claim(ctx, leader, T0 + timedelta(seconds=30)))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8 and len([r for r in results if r.run_id is not None]) == 1
    assert len(runs(ctx)) == 1


def test_an_occurrence_already_run_is_never_run_again(ctx, leader):
    schedule.ensure(ctx, [hourly()], now=T0, by="a")
    assert claim(ctx, leader, T0).run_id is not None
    # A leader with a stale view puts the schedule back: the run row's key still refuses it.
    with ctx.session_factory() as s:
        s.get(JobSchedule, "hourly_job").next_run_at = T0
        s.commit()
    again = claim(ctx, leader, T0 + timedelta(seconds=5))
    assert again.leader and again.run_id is None and again.occurrence == T0
    assert len(runs(ctx)) == 1


def test_a_leader_whose_lock_session_is_gone_claims_nothing(ctx, leader):
    schedule.ensure(ctx, [hourly()], now=T0, by="a")
    pid = leader.backend_pid
    with session(ctx) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone()[0]
    refused = claim(ctx, leader, T0 + timedelta(seconds=1))  # the pid the worker still remembers
    assert (refused.leader, refused.run_id) == (False, None)
    assert stored(ctx).next_run_at == T0 and runs(ctx) == []
    assert not leader.still_held()


def test_execute_scheduled_runs_the_due_occurrence_and_records_its_session(ctx, leader):
    tick = spec("tick")
    schedule.ensure(ctx, [tick], now=T0, by="a")
    claims: list[schedule.Claim] = []
    claimed, outcome = runner.execute_scheduled(ctx, tick, leader_pid=leader.backend_pid, now=T0, by="a",
                                                on_claim=claims.append)
    assert outcome is not None and outcome.status == "succeeded" and claims == [claimed]
    (run,) = runs(ctx, "tick")
    assert (run.status, run.scheduled_for, run.host) == ("succeeded", T0, runner.HOST)
    assert run.backend_pid is not None
    # Not due again until one interval later.
    assert runner.execute_scheduled(ctx, tick, leader_pid=leader.backend_pid, now=T0, by="a")[1] is None
    # Without the leader lock nothing starts, however overdue.
    leader.release()
    refused, none = runner.execute_scheduled(ctx, tick, leader_pid=None, now=T0 + HOUR, by="a")
    assert not refused.leader and none is None and len(runs(ctx, "tick")) == 1


def test_a_stopping_worker_stops_waiting_for_a_long_run_and_records_it(ctx, leader):
    linger = spec("linger")
    schedule.ensure(ctx, [linger], now=T0, by="a")
    stop = threading.Event()
    done: list[tuple[schedule.Claim, runner.RunOutcome | None]] = []
    thread = threading.Thread(target=lambda: done.append(runner.execute_scheduled(
        ctx, linger, leader_pid=leader.backend_pid, now=T0, by="a", abort=stop)))
    thread.start()
    deadline = time.monotonic() + 30
    while not [r for r in runs(ctx, "linger") if r.backend_pid]:
        assert time.monotonic() < deadline, "the long run did not start"
        time.sleep(0.05)
    stop.set()
    thread.join(10)  # far less than the job's 300 s timeout
    assert not thread.is_alive()
    (_, outcome), = done
    assert outcome is not None and outcome.status == "failed" and "worker was stopped" in outcome.error
    (run,) = runs(ctx, "linger")
    assert run.status == "failed" and run.error == outcome.error


def test_the_jobs_table_shows_each_jobs_stored_next_run(ctx, oncall):
    schedule.ensure(ctx, [registry.get("health_sweep")], now=T0, by="a")
    table = jobs_service.job_table(ctx, oncall).set_index("job_id")
    assert table.loc["health_sweep", "next_run"] == T0
    assert pd.isna(table.loc["archive_purge", "next_run"])  # never scheduled yet

"""The job runner records every run and survives jobs that raise or hang; "run now" is audited."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import psycopg
import pytest
from sqlalchemy import create_engine, select, text

from control_plane.adapters.clusters import libpq_url
from control_plane.db.engine import make_session_factory
from control_plane.db.models import AuditEntry, JobRun
from control_plane.errors import Forbidden, NotFound
from control_plane.scheduler import registry, runner, schedule
from control_plane.scheduler import service as jobs_service
from control_plane.scheduler.leader import LeaderLock, current_leader
from tests import polling
from tests.jobs import sample_jobs

EXTRA = registry.load_extra("tests.jobs.sample_jobs")


def spec(job_id: str) -> registry.JobSpec:
    return registry.get(job_id, EXTRA)


def runs(ctx, job_id: str) -> list[JobRun]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)))


def test_success_is_recorded_with_summary_times_and_host(ctx):
    outcome = runner.execute(ctx, spec("tick"), trigger="schedule")
    assert outcome.status == "succeeded" and outcome.summary.startswith("tick at ")
    (run,) = runs(ctx, "tick")
    assert (run.status, run.trigger, run.host, run.error) == ("succeeded", "schedule", runner.HOST, None)
    assert run.summary == outcome.summary and run.finished_at >= run.started_at


def test_a_job_that_raises_is_recorded_failed_with_its_error(ctx):
    outcome = runner.execute(ctx, spec("boom"))
    assert outcome.status == "failed"
    (run,) = runs(ctx, "boom")
    assert run.status == "failed" and run.finished_at is not None
    assert run.error.startswith("RuntimeError: boom: the sample job failed on purpose")
    assert "Traceback" in run.error
    assert runner.execute(ctx, spec("tick")).status == "succeeded"  # the runner carries on


def test_a_hung_job_times_out_blocks_only_itself_and_recovers(ctx):
    sample_jobs.RELEASE.clear()
    try:
        first = runner.execute(ctx, spec("hang"))
        assert first.status == "timed_out"
        assert "timeout of 1s" in runs(ctx, "hang")[0].error
        # Still hung: the next run of that job is refused, other jobs run.
        second = runner.execute(ctx, spec("hang"))
        assert second.status == "failed" and "already running" in second.error
        assert runner.execute(ctx, spec("tick")).status == "succeeded"
    finally:
        sample_jobs.RELEASE.set()
    # Once the hung thread ends it releases the job's lock and the job runs again.
    polling.wait_for("the job's outcome", lambda: runner.execute(ctx, spec("hang")).status == "succeeded")
    assert [r.status for r in runs(ctx, "hang")][:2] == ["timed_out", "failed"]
    assert runs(ctx, "hang")[0].status == "timed_out"  # the late finish does not rewrite history


def _session(ctx) -> psycopg.Connection:
    return psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True)


def _holding_job_lock(ctx, job_id: str) -> psycopg.Connection:
    conn = _session(ctx)
    assert conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (runner.JOB_LOCK_CLASS, job_id)).fetchone()[0]
    return conn


def test_runs_whose_worker_lost_its_session_are_closed_at_once(ctx):
    now = datetime.now(UTC)
    with _holding_job_lock(ctx, "tick") as alive, _holding_job_lock(ctx, "boom") as doomed:
        dead_pid = doomed.info.backend_pid
        assert alive.execute("SELECT pg_terminate_backend(%s, 10000)", (dead_pid,)).fetchone()[0]
        with ctx.session_factory() as s:
            s.add_all([
                JobRun(job_id="tick", status="running", host="alive:2", started_at=now,
                       backend_pid=alive.info.backend_pid),
                JobRun(job_id="boom", status="running", host="gone:1", started_at=now, backend_pid=dead_pid),
                # Not yet bound to a session (a "run now" row a moment before its thread takes the lock).
                JobRun(job_id="hang", status="running", host="starting:3", started_at=now),
                JobRun(job_id="hang", status="running", host="stuck:4", started_at=now - timedelta(minutes=10)),
            ])
            s.commit()
        # A run started seconds ago is closed as soon as its session is gone: no waiting for its timeout.
        assert runner.close_orphaned(ctx, now=now + timedelta(seconds=1)) == 2
        statuses = {r.host: (r.status, r.error) for r in (*runs(ctx, "tick"), *runs(ctx, "boom"), *runs(ctx, "hang"))}
        assert statuses["alive:2"] == ("running", None) and statuses["starting:3"] == ("running", None)
        for host in ("gone:1", "stuck:4"):
            assert statuses[host][0] == "failed"
            assert statuses[host][1].startswith(f"orphaned: the worker running it ({host}) lost its catalog session")
        assert runner.close_orphaned(ctx, now=now + timedelta(seconds=1)) == 0


def test_a_sweep_never_closes_a_run_that_is_ending(ctx):
    # A run's end is recorded before its job lock is released: a sweep running all the while never
    # finds a finished run `running` without its lock (before the fix, it closed some as orphaned).
    stop = threading.Event()
    closed: list[int] = []

    def sweep() -> None:
        while not stop.is_set():
            closed.append(runner.close_orphaned(ctx))

    sweeper = threading.Thread(target=sweep, daemon=True)
    sweeper.start()
    try:
        outcomes = [runner.execute(ctx, spec("tick")).status for _ in range(60)]
    finally:
        stop.set()
        sweeper.join(30)
    assert len(closed) > 60 and sum(closed) == 0
    assert outcomes == ["succeeded"] * 60
    assert [(r.status, r.error) for r in runs(ctx, "tick")] == [("succeeded", None)] * 60


def test_a_run_closed_as_orphaned_that_ends_later_shows_its_real_end(ctx):
    with ctx.session_factory() as s:
        run = JobRun(job_id="tick", status="running", host="gone:1", started_at=datetime.now(UTC), backend_pid=0)
        s.add(run)
        s.commit()
    assert runner.close_orphaned(ctx) == 1
    assert runner.finish_record(ctx, run.id, "succeeded", "late", None)
    (after,) = runs(ctx, "tick")
    assert after.status == "succeeded" and after.error is None
    first, note = after.summary.split("\n")
    assert first == "late"
    assert note.startswith("note: closed as orphaned at ") and note.endswith(" UTC.") and "then ended succeeded" in note
    # A run closed for another reason (timed out, worker stopping) keeps that record.
    assert not runner.finish_record(ctx, run.id, "failed", None, "again")


def test_a_live_run_whose_session_was_lost_is_closed_then_shows_how_it_ended(ctx):
    sample_jobs.RELEASE.clear()
    outcome: list[runner.RunOutcome] = []
    thread = threading.Thread(target=lambda: outcome.append(runner.execute(ctx, spec("held"))), daemon=True)
    thread.start()
    try:
        (run,) = polling.wait_for("the job's outcome", lambda: [r for r in runs(ctx, "held") if r.backend_pid])
        assert runner.close_orphaned(ctx) == 0  # its worker holds the session: never closed
        with _session(ctx) as conn:  # the catalog drops the run's session; the job goes on
            assert conn.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
                                "FROM pg_stat_activity WHERE pid = %s", (run.backend_pid,)).fetchone()[0] == 1
        assert runner.close_orphaned(ctx) == 1
        assert runs(ctx, "held")[0].error.startswith("orphaned:")
    finally:
        sample_jobs.RELEASE.set()
    thread.join(60)
    assert outcome[0].status == "succeeded"
    (after,) = runs(ctx, "held")
    assert after.status == "succeeded" and after.error is None
    assert after.summary.startswith("released\nnote: closed as orphaned at ")


def test_the_runner_and_the_sweep_work_with_search_path_pinned_to_the_catalog(database_url, ctx):
    pinned = database_url + ("&" if "?" in database_url else "?") + "options=-csearch_path%3Dpg_catalog%2Cpg_temp"
    engine = create_engine(pinned, connect_args={"options": "-c TimeZone=UTC -c search_path=pg_catalog,pg_temp"})
    try:
        pctx = SimpleNamespace(catalog_url=pinned, session_factory=make_session_factory(engine))
        with pctx.session_factory() as s:
            assert s.execute(text("SHOW search_path")).scalar() == "pg_catalog,pg_temp"
        assert runner.execute(pctx, spec("tick")).status == "succeeded"
        lock = LeaderLock(pinned)
        assert lock.try_acquire() and lock.still_held()
        try:
            now = datetime.now(UTC)
            schedule.ensure(pctx, [spec("tick")], now=now, by="test")
            claim, done = runner.execute_scheduled(pctx, spec("tick"), leader_pid=lock.backend_pid,
                                                   now=now + timedelta(seconds=1), by="test")
            assert claim.leader and done is not None and done.status == "succeeded"
            assert current_leader(pinned)["pid"] == lock.backend_pid
        finally:
            lock.release()
        with pctx.session_factory() as s:
            s.add(JobRun(job_id="boom", status="running", host="gone:1", started_at=now, backend_pid=0))
            s.commit()
        assert runner.close_orphaned(pctx) == 1
        (gone,) = runs(ctx, "boom")
        assert runner.finish_record(pctx, gone.id, "failed", None, "late")
    finally:
        engine.dispose()


def test_a_run_whose_lock_session_died_is_not_started_twice_in_its_process(ctx):
    sample_jobs.RELEASE.clear()
    try:
        assert runner.execute(ctx, spec("hang")).status == "timed_out"  # its thread is still going
        with _session(ctx) as conn:  # the catalog drops the session holding the job lock
            assert conn.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
                                "FROM pg_stat_activity WHERE application_name = 'cp-job hang'").fetchone()[0] == 1
        refused = runner.execute(ctx, spec("hang"))
        assert refused.status == "failed" and "already running" in refused.error
    finally:
        sample_jobs.RELEASE.set()
    polling.wait_for("the job's outcome", lambda: runner.execute(ctx, spec("hang")).status == "succeeded")


def test_run_now_records_audits_and_runs_in_the_background(ctx, oncall, founder):
    run_id = jobs_service.run_now(ctx, oncall, "check_rollup")
    done = polling.wait_for("the job's outcome",
                            lambda: [r for r in runs(ctx, "check_rollup") if r.id == run_id and r.status != "running"])
    assert done[0].status == "succeeded" and done[0].trigger == "manual:test-oncall"
    assert "rolled up" in done[0].summary
    with ctx.session_factory() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "job.run_now"))
        assert (entry.actor, entry.target, entry.detail) == ("test-oncall", "check_rollup", {"run_id": run_id})
    with pytest.raises(Forbidden):
        jobs_service.run_now(ctx, founder, "check_rollup")
    with pytest.raises(NotFound, match="known jobs"):
        jobs_service.run_now(ctx, oncall, "nope")
    table = jobs_service.job_table(ctx, oncall)
    row = table.set_index("job_id").loc["check_rollup"]
    assert row["last_status"] == "succeeded" and row["runs_24h"] == 1
    assert set(table["job_id"]) == {s.id for s in registry.JOBS}
    recent = jobs_service.recent_runs(ctx, oncall, status="succeeded")
    assert list(recent["id"]) == [run_id]

"""The worker: wait to become leader, then schedule every registered job with APScheduler 3
(explicit ids, coalesce, one instance at a time); step down when leadership cannot be proven.

The schedule itself lives in the catalog (control_plane/scheduler/schedule.py): a new leader starts each job's timer at
the job's stored next due time, so a takeover never runs every job at once, and APScheduler is only
the alarm clock. Before each run the leader proves, on its lock's own connection, that it still holds
the lock; the claim re-checks that in its transaction. At the first doubt the scheduler is paused,
before anything else, and the worker steps down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from control_plane.clock import Clock, utcnow
from control_plane.context import AppContext
from control_plane.scheduler import runner, schedule
from control_plane.scheduler.leader import LeaderLock
from control_plane.scheduler.registry import JobSpec
from control_plane.scheduler.schedule import Claim

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # a standby asks for the lock this often: failover well within 30 s
CHECK_SECONDS = 2.0  # between runs, the leader proves it still holds the lock this often
SWEEP_SECONDS = 30.0  # the leader looks for orphaned runs this often (and once when it takes over)
_SLICE = 0.25  # the leading loop's reaction time to a stop or a doubt raised by a job thread



def build_scheduler(specs: tuple[JobSpec, ...], next_runs: dict[str, datetime],
                    fire: Callable[[JobSpec], None]) -> BackgroundScheduler:
    """One APScheduler job per spec, first due at its stored time (at once when that has passed:
    one run for however many were missed, as the claim coalesces them)."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=max(4, len(specs) + 1))},
        # No misfire limit: a late occurrence still runs once; the claim decides whether it is due.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    for spec in specs:
        scheduler.add_job(
            fire, IntervalTrigger(seconds=spec.interval_seconds, timezone=UTC), args=(spec,),
            id=spec.id, name=spec.description, replace_existing=True, next_run_time=next_runs[spec.id])
    scheduler.add_listener(_on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _on_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
    else:
        log.error("job %s raised outside the runner: %s", event.job_id, event.exception)


class Worker:
    def __init__(self, ctx: AppContext, specs: tuple[JobSpec, ...], *, retry_seconds: float = RETRY_SECONDS,
                 check_seconds: float = CHECK_SECONDS, sweep_seconds: float = SWEEP_SECONDS,
                 clock: Clock = utcnow) -> None:
        self.ctx, self.specs, self.clock = ctx, specs, clock
        self.retry_seconds, self.check_seconds, self.sweep_seconds = retry_seconds, check_seconds, sweep_seconds
        self.lock = LeaderLock(ctx.catalog_url)
        self.is_leader = threading.Event()
        self._doubt = threading.Event()  # set by whoever first finds leadership unproven
        self._scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self._stop = stop  # running jobs stop being waited for when the worker is asked to stop
        log.info("worker %s starting with jobs: %s", self.lock.name, ", ".join(s.id for s in self.specs))
        try:
            while not stop.is_set():
                if self.lock.try_acquire():
                    self._lead(stop)
                # After stepping down too: another worker gets its chance before this one asks again.
                stop.wait(self.retry_seconds)
        finally:
            self.lock.release()
            log.info("worker %s stopped", self.lock.name)

    def _lead(self, stop: threading.Event) -> None:
        self._doubt.clear()
        try:
            self._sweep()
            next_runs = schedule.ensure(self.ctx, self.specs, now=self.clock(), by=self.lock.name)
        except Exception as exc:
            log.error("worker %s could not read the schedule (%s); stepping down", self.lock.name, exc)
            self.lock.release()
            return
        log.info("worker %s is the leader; scheduling %d jobs; next: %s", self.lock.name, len(self.specs),
                 ", ".join(f"{s.id} {next_runs[s.id]:%H:%M:%S}" for s in self.specs))
        scheduler = self._scheduler = build_scheduler(self.specs, next_runs, self._fire)
        # Leadership is known before anything can fire: a job whose stored time passed during the
        # gap fires as soon as the scheduler starts, and a fire that found no leader would let the
        # timer move on to the next interval (the occurrence merged into the next one, an hour late
        # for an hourly job).
        self.is_leader.set()
        scheduler.start()
        next_check = next_sweep = time.monotonic()
        next_check += self.check_seconds
        next_sweep += self.sweep_seconds
        try:
            while not stop.wait(_SLICE) and not self._doubt.is_set():
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.check_seconds
                    if not self.lock.still_held():
                        self._in_doubt("lost the leader lock (catalog unreachable or session ended)")
                        break
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.sweep_seconds
                    self._sweep()
        finally:
            self._pause()
            self.is_leader.clear()
            scheduler.shutdown(wait=False)
            self._scheduler = None
            self.lock.release()

    def _fire(self, spec: JobSpec) -> None:
        """APScheduler calls this when `spec` is due: prove leadership, claim, run."""
        if self._doubt.is_set() or not self.is_leader.is_set():
            return
        if not self.lock.still_held():  # one small query on the lock's own connection
            self._in_doubt(f"lost the leader lock before starting {spec.id}")
            return
        try:
            runner.execute_scheduled(self.ctx, spec, leader_pid=self.lock.backend_pid, now=self.clock(),
                                     by=self.lock.name, on_claim=lambda c: self._on_claim(spec, c),
                                     abort=self._stop)
        except Exception as exc:  # could not reach the catalog: nothing was claimed
            log.error("job %s not started: %s", spec.id, exc)
            if not self.lock.still_held():
                self._in_doubt(f"lost the leader lock while starting {spec.id}")

    def _on_claim(self, spec: JobSpec, claim: Claim) -> None:
        if not claim.leader:
            self._in_doubt(f"the catalog no longer sees this worker's session holding the leader lock ({spec.id})")
            return
        if claim.next_run_at is not None and self._scheduler is not None:
            try:  # keep the timer on the stored schedule (it is the one every leader follows)
                self._scheduler.modify_job(spec.id, next_run_time=claim.next_run_at)
            except JobLookupError:
                pass  # the scheduler was shut down meanwhile

    def _in_doubt(self, reason: str) -> None:
        if not self._doubt.is_set():
            self._doubt.set()
            self._pause()
            log.error("worker %s %s; scheduling paused, stepping down", self.lock.name, reason)

    def _pause(self) -> None:
        scheduler = self._scheduler
        if scheduler is not None:
            try:
                scheduler.pause()
            except SchedulerNotRunningError:
                pass

    def _sweep(self) -> None:
        try:
            closed = runner.close_orphaned(self.ctx, now=self.clock())
        except Exception as exc:  # the next sweep tries again
            log.error("could not check for orphaned runs: %s", exc)
            return
        if closed:
            log.warning("closed %d orphaned runs (their worker lost its catalog session)", closed)

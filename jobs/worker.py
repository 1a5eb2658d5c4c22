"""The worker: wait to become leader, then schedule every registered job with APScheduler 3
(explicit ids, coalesce, one instance at a time); step down when leadership cannot be proven."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from control_plane.context import AppContext
from jobs import runner
from jobs.leader import LeaderLock
from jobs.registry import JobSpec

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # a standby asks for the lock this often: failover well within 30 s
CHECK_SECONDS = 5.0  # the leader proves it still holds the lock this often
STAGGER_SECONDS = 2.0  # first runs after taking over are spread out a little


def build_scheduler(ctx: AppContext, specs: tuple[JobSpec, ...]) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=max(4, len(specs) + 1))},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    now = datetime.now(UTC)
    for i, spec in enumerate(specs):
        scheduler.add_job(
            runner.execute, IntervalTrigger(seconds=spec.interval_seconds, timezone=UTC), args=(ctx, spec),
            id=spec.id, name=spec.description, replace_existing=True,
            misfire_grace_time=max(1, spec.interval_seconds // 2),
            next_run_time=now + timedelta(seconds=STAGGER_SECONDS * i))
    scheduler.add_listener(_on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _on_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run at %s (the previous one was still going)", event.job_id,
                    event.scheduled_run_time)
    else:
        log.error("job %s raised outside the runner: %s", event.job_id, event.exception)


class Worker:
    def __init__(self, ctx: AppContext, specs: tuple[JobSpec, ...], *, retry_seconds: float = RETRY_SECONDS,
                 check_seconds: float = CHECK_SECONDS) -> None:
        self.ctx, self.specs = ctx, specs
        self.retry_seconds, self.check_seconds = retry_seconds, check_seconds
        self.lock = LeaderLock(ctx.catalog_url)
        self.is_leader = threading.Event()

    def run(self, stop: threading.Event) -> None:
        log.info("worker %s starting with jobs: %s", self.lock.name, ", ".join(s.id for s in self.specs))
        try:
            while not stop.is_set():
                if self.lock.try_acquire():
                    self._lead(stop)
                else:
                    stop.wait(self.retry_seconds)
        finally:
            self.lock.release()
            log.info("worker %s stopped", self.lock.name)

    def _lead(self, stop: threading.Event) -> None:
        log.info("worker %s is the leader; scheduling %d jobs", self.lock.name, len(self.specs))
        try:
            abandoned = runner.mark_abandoned(self.ctx, {s.id: s.timeout_seconds for s in self.specs})
            if abandoned:
                log.warning("marked %d runs of a previous leader as failed", abandoned)
        except Exception as exc:
            log.error("could not check for abandoned runs: %s", exc)
        scheduler = build_scheduler(self.ctx, self.specs)
        scheduler.start()
        self.is_leader.set()
        try:
            while not stop.wait(self.check_seconds):
                if not self.lock.still_held():
                    log.error("worker %s lost the leader lock (catalog unreachable?); stepping down", self.lock.name)
                    break
        finally:
            self.is_leader.clear()
            scheduler.shutdown(wait=False)
            self.lock.release()

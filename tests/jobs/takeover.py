"""Kill the leading worker (kill -9, a real process) just before a job is due and see what became
of that occurrence: the takeover test and bench/takeover.py share this."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from tests.jobs.sample_jobs import DUE_SECONDS
from tests.jobs.workers import WorkerProcess, leader_pid, next_run_at, runs_of, wait_until

JOB = "due"


@dataclass
class Tally:
    kills: int = 0
    lost: list[datetime] = field(default_factory=list)  # occurrences nobody ran
    doubled: list[datetime] = field(default_factory=list)  # occurrences run more than once
    by_old_leader: int = 0  # the kill came late: the dying leader had claimed the occurrence
    not_succeeded: list[tuple[datetime, str]] = field(default_factory=list)

    def line(self) -> str:
        return (f"kills {self.kills}, lost {len(self.lost)}, doubled {len(self.doubled)}, "
                f"claimed by the dying leader {self.by_old_leader}, not succeeded {len(self.not_succeeded)}")


class Fleet:
    """Two workers scheduling only `due`; each kill replaces the leader with a fresh standby."""

    def __init__(self, database_url: str, log_dir: Path, retry_seconds: float = 0.5) -> None:
        self.database_url, self.log_dir, self.retry = database_url, log_dir, retry_seconds
        self.started = 0
        self.workers = [self._start() for _ in range(2)]

    def _start(self) -> WorkerProcess:
        self.started += 1
        return WorkerProcess(self.database_url, self.log_dir / f"w{self.started}.log", "--only", JOB,
                             "--retry-seconds", str(self.retry))

    def leader(self, ctx) -> WorkerProcess:
        return wait_until(lambda: next((w for w in self.workers if w.proc.pid == leader_pid(ctx)), None), 60,
                          "a leader", tuple(self.workers))

    def stop(self) -> None:
        for w in self.workers:
            w.stop()


def kill_before_due(ctx, fleet: Fleet, tally: Tally, before: float = 0.3) -> None:
    """One round: wait for a leader and a ready standby, kill the leader `before` seconds ahead of
    the job's next stored due time, start a replacement standby, and wait for the occurrence's
    fate (a finished run for it or for a later one)."""
    leader = fleet.leader(ctx)
    wait_until(lambda: all("starting with jobs" in w.log() for w in fleet.workers), 60, "the standby to start",
               tuple(fleet.workers))
    # The next due time far enough ahead to kill before it (the schedule moves on as runs are claimed).
    due = wait_until(lambda: (d := next_run_at(ctx, JOB)) and d > datetime.now(UTC) + timedelta(seconds=before + 0.2)
                     and d, 60, "a due time ahead", tuple(fleet.workers))
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - before))  # the fault's timing, not a wait
    leader.kill()
    tally.kills += 1
    fleet.workers.remove(leader)
    fleet.workers.append(fleet._start())

    def settled():
        later = [r for r in runs_of(ctx, JOB) if r.scheduled_for >= due]
        return later if any(r.status != "running" for r in later) or any(r.scheduled_for > due for r in later) \
            else None
    wait_until(settled, 90, f"a run of the occurrence due at {due:%H:%M:%S.%f}", tuple(fleet.workers))
    mine = [r for r in runs_of(ctx, JOB) if r.scheduled_for == due]
    if not mine:
        tally.lost.append(due)
    if len(mine) > 1:
        tally.doubled.append(due)
    tally.by_old_leader += sum(1 for r in mine if r.host.endswith(leader.host_suffix))


def check_grid(ctx, tally: Tally) -> None:
    """Every occurrence from the first run to the last ran exactly once, on the job's grid."""
    runs = [r for r in runs_of(ctx, JOB) if r.status != "running"]
    times = sorted(r.scheduled_for for r in runs)
    for a, b in pairwise(times):
        step = (b - a).total_seconds()
        if step == 0:
            tally.doubled.append(a)
        elif step != DUE_SECONDS:
            tally.lost.extend(a + timedelta(seconds=DUE_SECONDS * k) for k in range(1, round(step / DUE_SECONDS)))
    tally.lost = sorted(set(tally.lost))
    tally.doubled = sorted(set(tally.doubled))
    tally.not_succeeded = [(r.scheduled_for, r.error or r.status) for r in runs if r.status != "succeeded"]

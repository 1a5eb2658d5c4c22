"""Test-only jobs, loaded with `python -m jobs --extra-jobs tests.jobs.sample_jobs` or
`registry.load_extra(...)`; the production registry never lists them."""

from __future__ import annotations

import threading

from control_plane.scheduler.context import JobContext
from control_plane.scheduler.registry import JobSpec

# Set by a test to let hung runs finish (an in-process test cleans up after itself).
RELEASE = threading.Event()


def tick(context: JobContext) -> str:
    return f"tick at {context.now().isoformat()}"


def boom(context: JobContext) -> str:
    raise RuntimeError("boom: the sample job failed on purpose")


def hang(context: JobContext) -> str:
    # Ignores context.cancelled on purpose: a job stuck in a call that never returns.
    RELEASE.wait(120)
    return "released"


def held(context: JobContext) -> str:
    # Runs, well inside its timeout, until a test sets RELEASE.
    RELEASE.wait(120)
    return "released"


def linger(context: JobContext) -> str:
    # A long run inside its timeout: still `running` when a test kills its worker or the database.
    context.cancelled.wait(240)
    return "lingered"


# Short stand-ins for the hourly and daily jobs keep their shape (one due long after takeover,
# one due once a day) while a test runs in seconds; they run the same module as `tick`.
HOURLY_SECONDS = 45
# A job due every few seconds: the takeover tests kill its leader just before each due time.
DUE_SECONDS = 3

JOBS = (
    JobSpec("tick", "tests.jobs.sample_job_tick", 1, 5, "test: succeeds every second"),
    JobSpec("boom", "tests.jobs.sample_job_boom", 2, 5, "test: raises"),
    JobSpec("hang", "tests.jobs.sample_job_hang", 3, 1, "test: hangs past its 1 s timeout"),
    JobSpec("hourly", "tests.jobs.sample_job_tick", HOURLY_SECONDS, 10, "test: stands in for an hourly job"),
    JobSpec("daily", "tests.jobs.sample_job_tick", 86400, 10, "test: stands in for the daily purge"),
    JobSpec("due", "tests.jobs.sample_job_tick", DUE_SECONDS, 2, "test: due every few seconds (takeover tests)"),
    JobSpec("held", "tests.jobs.sample_job_held", 600, 300, "test: runs until the test releases it"),
    JobSpec("linger", "tests.jobs.sample_job_linger", 600, 300, "test: runs for minutes within its timeout"),
)

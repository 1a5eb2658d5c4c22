"""The Jobs page through AppTest: job table, no-leader warning, Run now, permissions."""

from __future__ import annotations

import time

from sqlalchemy import select

# AppTest runs pages/jobs.py as the main script, which puts pages/ first on sys.path, where
# `jobs` would name that page file; "Run now" imports the job modules of the real `jobs`
# package. Importing it first is what the app's entry script (at the repository root) gets free.
import jobs  # noqa: F401
from control_plane.db.models import JobRun
from tests.ui.readable import assert_readable
from ui.text import plain


def test_jobs_page_runs_a_job_now(make_app, ctx):
    at = make_app("pages/jobs.py", role="oncall").run()
    assert not at.exception
    assert "No worker holds the leader lock" in " ".join(w.value for w in at.warning)
    assert "health_sweep" in list(at.dataframe[0].value["Job"])
    assert_readable(at)
    assert "Every" in at.dataframe[0].value.columns and "1 min" in set(at.dataframe[0].value["Every"])
    at.selectbox(key="jobs_run_job").set_value("check_rollup")
    at.button(key="jobs_run_now").click().run()
    assert not at.exception
    assert plain("Started check_rollup") in at.success[0].value
    deadline = time.monotonic() + 20
    while True:
        with ctx.session_factory() as s:
            run = s.scalar(select(JobRun).where(JobRun.job_id == "check_rollup"))
        if run.status != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert run.status == "succeeded" and run.trigger == "manual:oncall-user"


def test_support_cannot_open_jobs(make_app):
    at = make_app("pages/jobs.py", role="support").run()
    assert "cannot open this page" in at.error[0].value

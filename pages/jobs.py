"""Jobs: who schedules, each job's last run, failures, and "Run now"."""

from datetime import timedelta

import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.errors import ControlPlaneError
from control_plane.scheduler import service as job_service
from ui import cached_reads as reads
from ui import job_charts
from ui.auth import page_guard
from ui.context import app_context
from ui.feedback import csv_download, show_error
from ui.formatting import table as readable
from ui.formatting import utc_time
from ui.fragments import guarded_fragment
from ui.text import plain

actor = page_guard(Permission.JOBS_RUN)
JOB_LABELS = {"job_id": "Job", "description": "What it does", "every_s": "Every", "timeout_s": "Timeout",
              "runs_24h": "Runs (24 h)", "failures_24h": "Failures (24 h)", "last_seconds": "Last took"}
RUN_LABELS = {"id": "Run", "job_id": "Job", "seconds": "Took"}


ctx = app_context()
st.title("Jobs")


@guarded_fragment(Permission.JOBS_RUN, run_every=timedelta(seconds=30))
def overview(*, actor: Actor) -> None:
    leader = job_service.leader(ctx, actor)
    if leader is None:
        st.warning("No worker holds the leader lock: nothing runs on schedule. Start one with `python -m jobs`.",
                   icon=":material/warning:")
    else:
        st.caption(f"Scheduling: {plain(leader['application_name'])} (since {utc_time(leader['since'])})")
    table = job_service.job_table(ctx, actor)
    failing = table[table["last_status"].isin(["failed", "timed_out"])]
    if not failing.empty:
        st.error(f"Last run failed: {plain(', '.join(failing['job_id']))}", icon=":material/error:")
    st.dataframe(readable(table, duration_cols=["every_s", "timeout_s", "last_seconds"], labels=JOB_LABELS),
                 hide_index=True, width="stretch")


overview()

st.subheader("Run now")
specs = reads.job_table(ctx, actor)
job, button = st.columns([3, 1])
descriptions = dict(zip(specs["job_id"], specs["description"], strict=True))
choice = job.selectbox("Job", list(descriptions), key="jobs_run_job",
                       format_func=lambda j: f"{j}: {descriptions[j]}")
button.write("")
if button.button("Run now", type="primary", key="jobs_run_now"):
    try:
        run_id = job_service.run_now(ctx, actor, choice)
        st.success(f"Started {plain(choice)} (run #{run_id}); its result appears below when it finishes.")
    except ControlPlaneError as exc:
        show_error(exc)

st.subheader("Runs")
pick, state, span = st.columns(3)
job_filter = pick.selectbox("Job", ["all", *specs["job_id"].tolist()], key="jobs_filter_job")
status_filter = state.selectbox("Status", ["all", *job_service.STATUSES], key="jobs_filter_status")
days = span.selectbox("Since", [1, 7, 30], index=1, format_func=lambda d: f"last {d} days", key="jobs_days")
try:
    runs = job_service.recent_runs(ctx, actor, job_id=None if job_filter == "all" else job_filter,
                                   status=None if status_filter == "all" else status_filter, days=days)
except ControlPlaneError as exc:
    show_error(exc)
    st.stop()
if runs.empty:
    st.info("No runs match. Jobs run only while a worker is the leader.")
else:
    failures = runs[runs["status"].isin(["failed", "timed_out"])]
    st.caption(f"{len(runs)} runs, {len(failures)} failed or timed out")
    st.plotly_chart(job_charts.run_durations(runs), width="stretch")
    st.dataframe(readable(runs, duration_cols=["seconds"], labels=RUN_LABELS), hide_index=True, width="stretch")
    csv_download(runs, "job-runs.csv", key="jobs_csv")

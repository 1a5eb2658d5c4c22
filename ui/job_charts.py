"""The Jobs screen's figure (frames in, figures out; no data access here). Job ids, summaries and
errors are shown as typed (ui/text.py chart_frame): an error may quote a tenant's name."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ui.text import chart_frame

# One colour per job (a legend entry per job, told apart at a glance), one marker per outcome.
JOB_COLOURS = px.colors.qualitative.Dark24
STATUS_SYMBOLS = {"succeeded": "circle", "running": "circle-open", "failed": "x", "timed_out": "diamond"}


def run_durations(runs: pd.DataFrame) -> go.Figure:
    """Every run of a `jobs.recent_runs` frame: when it started, how long it took (colour: the job,
    marker: how it ended)."""
    shown = chart_frame(runs, "job_id", "status", "summary", "error")
    jobs = sorted(shown["job_id"].unique())
    figure = px.scatter(shown, x="started_at", y="seconds", color="job_id", symbol="status",
                        category_orders={"job_id": jobs}, color_discrete_sequence=JOB_COLOURS,
                        symbol_map=STATUS_SYMBOLS, hover_data=["summary", "error"], title="Run durations",
                        labels={"started_at": "Started (UTC)", "seconds": "Took (s)", "job_id": "Job",
                                "status": "Outcome"})
    figure.update_layout(legend_title_text="Job, outcome")
    return figure

"""The Jobs screen's figure (frames in, figures out; no data access here). Job ids, summaries and
errors are shown as typed (ui/text.py chart_frame): an error may quote a tenant's name."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ui.text import chart_frame


def run_durations(runs: pd.DataFrame) -> go.Figure:
    """Every run of a `jobs.recent_runs` frame: when it started, how long it took, its status."""
    return px.scatter(chart_frame(runs, "job_id", "status", "summary", "error"), x="started_at", y="seconds",
                      color="status", symbol="job_id", hover_data=["summary", "error"], title="Run durations")

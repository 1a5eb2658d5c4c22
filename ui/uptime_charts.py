"""Plotly figures for the Uptime screen (frames in, figures out; no data access here). Target
names and errors were typed or returned by probes: shown as text (ui/text.py chart_frame)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ui.text import chart_frame, chart_text

SLOWEST_SHOWN = 30


def slowest_targets(latency: pd.DataFrame, slo_ms: float) -> go.Figure:
    """The slowest targets of a `views.latency_table` by p95, with the latency SLO as a line."""
    figure = px.bar(chart_frame(latency.head(SLOWEST_SHOWN), "target"), x="target", y="p95_latency_ms",
                    color="within_slo", labels={"p95_latency_ms": "p95 latency (ms)"}, title="Slowest targets (p95)")
    figure.add_hline(y=slo_ms, line_dash="dash", annotation_text="SLO")
    return figure


def incident_timeline(incidents: pd.DataFrame, now: datetime | None = None) -> go.Figure:
    """A bar per incident of a `views.incidents_frame`, open ones drawn up to `now`."""
    chart = incidents.assign(end=incidents["resolved_at"].fillna(now or datetime.now(UTC)))
    return px.timeline(chart_frame(chart, "target", "status", "last_error"), x_start="opened_at", x_end="end",
                       y="target", color="status", hover_data=["duration_min", "failed_checks", "last_error"],
                       title="Incidents")


def check_history(target: str, points: pd.DataFrame) -> go.Figure:
    """Latency of a `views.check_history` over time, points with a failed check in red."""
    return px.scatter(chart_frame(points, "error"), x="at", y="latency_ms", color=points["uptime_pct"] >= 100,
                      color_discrete_map={True: "seagreen", False: "crimson"},
                      labels={"color": "all ok", "latency_ms": "latency (ms)"}, hover_data=["error"],
                      title=f"{chart_text(target)}: latency, failures in red")

"""Plotly figures for the Uptime screen (frames in, figures out; no data access here). Target
names and errors were typed or returned by probes: shown as text (ui/text.py chart_frame).
Targets are drawn by their tenant's name (ui/formatting.py target_label); flags in words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ui.formatting import target_label, yes_no
from ui.text import chart_frame, chart_text

SLOWEST_SHOWN = 30
TIMELINE_SHOWN = 40  # rows a timeline keeps readable; beyond that the most downtime is shown, and said
ROW_PX = 22


def slowest_targets(latency: pd.DataFrame, slo_ms: float, names: Mapping[str, str] | None = None) -> go.Figure:
    """The slowest targets of a `views.latency_table` by p95, with the latency SLO as a line."""
    shown = latency.head(SLOWEST_SHOWN)
    shown = shown.assign(target=[target_label(t, names or {}) for t in shown["target"]],
                         latency_slo=[yes_no(w, "within SLO", "over SLO") for w in shown["within_slo"]])
    figure = px.bar(chart_frame(shown, "target"), x="target", y="p95_latency_ms", color="latency_slo",
                    color_discrete_map={"within SLO": "seagreen", "over SLO": "crimson"},
                    labels={"p95_latency_ms": "p95 latency (ms)", "target": "Target", "latency_slo": "Latency"},
                    title="Slowest targets (p95)")
    figure.add_hline(y=slo_ms, line_dash="dash", annotation_text="SLO")
    return figure


def timeline_targets(incidents: pd.DataFrame, now: datetime, limit: int = TIMELINE_SHOWN) -> list[str]:
    """The targets a timeline draws: all of them up to `limit`, else the `limit` with the most
    downtime in the frame (ties by name)."""
    end = incidents["resolved_at"].fillna(now)
    downtime = (pd.to_datetime(end, utc=True) - pd.to_datetime(incidents["opened_at"], utc=True)).groupby(
        incidents["target"]).sum()
    ranked = sorted(downtime.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [str(t) for t, _ in ranked[:limit]]


def incident_timeline(incidents: pd.DataFrame, now: datetime | None = None, names: Mapping[str, str] | None = None,
                      limit: int = TIMELINE_SHOWN) -> go.Figure:
    """A bar per incident of a `views.incidents_frame`, open ones drawn up to `now`; one labelled
    row per target (every one up to `limit`, else the `limit` with the most downtime, as the
    title says), the chart as tall as its rows."""
    now = now or datetime.now(UTC)
    every = incidents["target"].nunique()
    kept = timeline_targets(incidents, now, limit)
    chart = incidents[incidents["target"].isin(kept)]
    chart = chart.assign(end=chart["resolved_at"].fillna(now),
                         target=[target_label(t, names or {}) for t in chart["target"]])
    rows = [target_label(t, names or {}) for t in kept]
    title = "Incidents" if every <= limit else f"Incidents: the {len(kept)} targets with the most downtime of {every}"
    figure = px.timeline(chart_frame(chart, "target", "status", "last_error"), x_start="opened_at", x_end="end",
                         y="target", color="status", hover_data=["duration_min", "failed_checks", "last_error"],
                         labels={"target": "Target", "status": "Status", "duration_min": "Minutes"}, title=title,
                         category_orders={"target": [chart_text(r) for r in rows]})
    figure.update_yaxes(tickmode="array", tickvals=[chart_text(r) for r in rows],
                        ticktext=[chart_text(r) for r in rows], automargin=True)
    figure.update_layout(height=max(260, 120 + ROW_PX * len(rows)))
    return figure


def check_history(target: str, points: pd.DataFrame, names: Mapping[str, str] | None = None) -> go.Figure:
    """Latency of a `views.check_history` over time, points with a failed check in red."""
    outcome = [yes_no(u >= 100, "all checks ok", "a check failed") for u in points["uptime_pct"]]
    return px.scatter(chart_frame(points.assign(outcome=outcome), "error"), x="at", y="latency_ms", color="outcome",
                      color_discrete_map={"all checks ok": "seagreen", "a check failed": "crimson"},
                      labels={"outcome": "Checks", "latency_ms": "latency (ms)", "at": "Time (UTC)"},
                      hover_data=["error"],
                      title=f"{chart_text(target_label(target, names or {}))}: latency, failures in red")

"""Plotly figures for the Scaling and Usage screens (no data access here: frames in, figures out)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from control_plane import units
from ui.formatting import MISSING
from ui.text import chart_text

ACTION_STYLE = {
    "scale_up": ("triangle-up", "#d62728"),
    "scale_down": ("triangle-down", "#2ca02c"),
    "no_change": ("circle-open", "#7f7f7f"),
    "error": ("x", "#000000"),
}


def capacity_figure(history: pd.DataFrame, decisions: pd.DataFrame, *, up_pct: float, down_pct: float) -> go.Figure:
    """Capacity (ACU, left) and utilisation (%, right) over time, the max-ACU steps the scaler set,
    and every decision as a marker (hover for its reason)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    if not history.empty:
        fig.add_trace(go.Scatter(x=history["at"], y=history["capacity_acu"], name="Capacity (ACU)",
                                 line={"color": "#1f77b4"}), secondary_y=False)
        fig.add_trace(go.Scatter(x=history["at"], y=history["utilisation_pct"], name="Utilisation (%)",
                                 line={"color": "#ff7f0e", "width": 1}), secondary_y=True)
    changed = decisions[decisions["outcome"].isin(["applied", "dry_run"])].sort_values("at")
    if not changed.empty:
        fig.add_trace(go.Scatter(x=changed["at"], y=changed["new_max_acu"], name="Max ACU set", mode="lines+markers",
                                 line={"shape": "hv", "dash": "dot", "color": "#9467bd"}), secondary_y=False)
    for action, (symbol, color) in ACTION_STYLE.items():
        subset = decisions[decisions["action"] == action]
        if subset.empty:
            continue
        y = subset["new_max_acu"].fillna(subset["current_max_acu"]).fillna(0)
        # AWS errors may quote names: everything from the data shown as typed
        hover = (subset["outcome"].map(chart_text) + ": " + subset["reason"].fillna("").map(chart_text)
                 + subset["error"].fillna("").map(lambda e: f"<br>{chart_text(e)}" if e else ""))
        fig.add_trace(go.Scatter(x=subset["at"], y=y, mode="markers", name=action.replace("_", " "),
                                 marker={"symbol": symbol, "size": 11, "color": color},
                                 hovertext=hover, hoverinfo="text+x"), secondary_y=False)
    for pct, label in ((up_pct, "scale-up threshold"), (down_pct, "scale-down threshold")):
        # Line and label both on the utilisation (%) axis: add_hline's own annotation would be
        # placed on the ACU axis, so "80%" would sit at 80 ACU.
        fig.add_hline(y=pct, line_dash="dash", line_color="#bbbbbb", secondary_y=True)
        fig.add_annotation(x=0, xref="x domain", xanchor="left", y=pct, yref="y2", yanchor="bottom",
                           text=f"{label} {pct:g}%", showarrow=False, font={"color": "#888888", "size": 11})
    fig.update_yaxes(title_text="ACU", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="Utilisation %", range=[0, 105], secondary_y=True, showgrid=False)
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "y": -0.15})
    return fig


def usage_figure(daily: pd.DataFrame, metric: str, label: str) -> go.Figure:
    label = chart_text(label)
    fig = go.Figure(go.Scatter(x=daily["day"], y=daily[metric], mode="lines", name=label))
    if len(daily) >= 7:
        fig.add_trace(go.Scatter(x=daily["day"], y=daily[metric].rolling(7, min_periods=1).mean(),
                                 mode="lines", name="7-day average", line={"dash": "dot"}))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title=label,
                      legend={"orientation": "h", "y": -0.2})
    return fig


def human_bytes(value: float | int | None) -> str:
    if value is None or pd.isna(value):
        return MISSING
    return units.human_bytes(value)

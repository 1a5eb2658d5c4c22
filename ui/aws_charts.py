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


def capacity_figure(history: pd.DataFrame, decisions: pd.DataFrame, *, up_pct: float, down_pct: float,
                    max_now: float | None = None) -> go.Figure:
    """Capacity (ACU, left) and utilisation (%, right) over time, the max ACU in force across the
    whole window (a step line: what the cluster had at the start, each change the scaler made, and
    `max_now` at the end), every decision as a marker (hover for its reason), and the utilisation
    thresholds as dashed lines named in the legend (a label drawn inside the plot sat on the curves)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    times = pd.concat([pd.Series(history["at"], dtype=object), pd.Series(decisions["at"], dtype=object)]).dropna()
    span = (times.min(), times.max()) if not times.empty else None
    if not history.empty:
        fig.add_trace(go.Scatter(x=history["at"], y=history["capacity_acu"], name="Capacity (ACU)",
                                 line={"color": "#1f77b4"}), secondary_y=False)
        fig.add_trace(go.Scatter(x=history["at"], y=history["utilisation_pct"], name="Utilisation (%)",
                                 line={"color": "#ff7f0e", "width": 1}), secondary_y=True)
    steps = max_acu_steps(decisions, span, max_now)
    if steps is not None:
        fig.add_trace(go.Scatter(x=steps[0], y=steps[1], name="Max ACU", mode="lines",
                                 line={"shape": "hv", "color": "#9467bd", "width": 3}), secondary_y=False)
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
    for pct, label in ((up_pct, "Scale-up threshold"), (down_pct, "Scale-down threshold")):
        # On the utilisation (%) axis; named in the legend, so no label sits on the curves.
        fig.add_hline(y=pct, line_dash="dash", line_color="#bbbbbb", secondary_y=True)
        if span is not None:
            fig.add_trace(go.Scatter(x=list(span), y=[pct, pct], mode="lines", name=f"{label} {pct:g}%",
                                     line={"color": "#bbbbbb", "dash": "dash"}, hoverinfo="skip"),
                          secondary_y=True)
    fig.update_yaxes(title_text="ACU", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="Utilisation %", range=[0, 105], secondary_y=True, showgrid=False)
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "y": -0.15})
    return fig


def max_acu_steps(decisions: pd.DataFrame, span: tuple | None, max_now: float | None
                  ) -> tuple[list, list] | None:
    """(times, values) of the max ACU in force from the window's start to its end; None when
    nothing says what it was."""
    if span is None:
        return None
    changed = decisions[decisions["outcome"].isin(["applied", "dry_run"])].dropna(subset=["new_max_acu"])
    changed = changed.sort_values("at")
    known = decisions.sort_values("at")["current_max_acu"].dropna()
    start = known.iloc[0] if not known.empty else (changed["new_max_acu"].iloc[0] if not changed.empty else max_now)
    if start is None or pd.isna(start):
        return None
    xs, ys = [span[0]], [float(start)]
    for at, value in zip(changed["at"], changed["new_max_acu"], strict=True):
        xs.append(at)
        ys.append(float(value))
    end = ys[-1] if max_now is None or pd.isna(max_now) else float(max_now)
    xs.append(span[1])
    ys.append(end)
    return xs, ys


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

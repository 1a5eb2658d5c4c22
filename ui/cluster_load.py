"""Tenants and load per cluster (Scaling and Usage screens, and the move form's list of targets):
a table, a chart and a CSV, so a person can see where a tenant should go."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.units import human_bytes
from ui import cached_reads as reads
from ui.feedback import csv_download, show_error
from ui.text import chart_text


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a person reads (cluster names and slugs stay plain text in a dataframe)."""
    return pd.DataFrame({
        "cluster": frame["cluster"],
        "new tenants": frame["accepts_tenants"].map(lambda v: "accepted" if v else "only when named"),
        "tenants": frame["tenants"], "active": frame["active"], "suspended": frame["suspended"],
        "storage": frame["storage_bytes"].map(human_bytes), "rows": frame["rows"],
        "requests 7 d": frame["requests_7d"],
        "ACU floor–ceiling": [f"{f:g}–{c:g}" for f, c in zip(frame["acu_floor"], frame["acu_ceiling"], strict=True)],
        "noisy tenants": frame["noisy_tenants"].map(", ".join),
        "moves in / out": [f"{i} / {o}" for i, o in zip(frame["moves_in"], frame["moves_out"], strict=True)],
    })


def figure(frame: pd.DataFrame) -> go.Figure:
    """Live tenants, storage and 7-day requests per cluster, side by side."""
    names = frame["cluster"].map(chart_text)
    fig = make_subplots(rows=1, cols=3, subplot_titles=("Live tenants", "Storage (GiB)", "Requests, last 7 days"))
    for col, (values, colour) in enumerate(((frame["tenants"], "#1f77b4"),
                                            (frame["storage_bytes"] / 1024**3, "#ff7f0e"),
                                            (frame["requests_7d"], "#2ca02c")), start=1):
        fig.add_trace(go.Bar(x=names.tolist(), y=values.tolist(), marker_color=colour, showlegend=False),
                      row=1, col=col)
    fig.update_layout(height=300, margin={"t": 40, "b": 10, "l": 10, "r": 10})
    return fig


def render_cluster_load(ctx: AppContext, actor: Actor, key: str) -> None:
    """The section: `key` tells the widgets of two screens apart."""
    st.subheader("Tenants and load per cluster")
    st.caption("Storage and rows from each live tenant's latest usage roll-up; requests over the last 7 days. "
               "A tenant moves from its page (Tenants → the tenant → Cluster moves, admins).")
    try:
        frame = reads.cluster_load(ctx, actor)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    st.dataframe(table(frame), hide_index=True, width="stretch")
    st.plotly_chart(figure(frame), width="stretch", key=f"{key}_cluster_load_chart")
    csv_download(frame.assign(noisy_tenants=frame["noisy_tenants"].map(" ".join)), "cluster-load.csv",
                 key=f"{key}_cluster_load_csv")

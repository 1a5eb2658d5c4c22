"""The Uptime screen's check-history section: one target's checks over a span (raw checks for
short spans, hourly roll-ups for long ones), its uptime in that span and latency with failures."""

from __future__ import annotations

import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.uptime import tallies, views
from ui import cached_reads as reads
from ui import uptime_charts as charts
from ui.formatting import target_label
from ui.uptime_tables import tenant_names

SPANS_HOURS = [1, 6, 24, 72, 168, 720]


def render_check_history(ctx: AppContext, actor: Actor) -> None:
    names = reads.targets(ctx, actor)
    if not names:
        st.info("No targets have been checked in the last 7 days.")
        return
    pick, span = st.columns([3, 1])
    labels = tenant_names(ctx, actor, names)
    target = pick.selectbox("Target", names, key="history_target", format_func=lambda t: target_label(t, labels))
    hours = span.selectbox("Span", SPANS_HOURS, index=2, key="history_hours",
                           format_func=lambda h: f"{h} h" if h < 72 else f"{h // 24} days")
    points = views.check_history(ctx, actor, target, hours=hours)
    if points.empty:
        st.info("No checks of this target in this span.")
        return
    st.metric("Uptime in span", tallies.span_uptime_text(points))
    st.plotly_chart(charts.check_history(target, points, labels), width="stretch")

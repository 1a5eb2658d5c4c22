"""Uptime: the on-call inbox (what is wrong now), what is down now, SLOs and error budgets,
latency, incidents, check history, maintenance windows, alerts (with their handling and runbook
section) and per-tenant SLA reports. Refreshes by itself."""

import streamlit as st

from control_plane.auth.permissions import Permission
from control_plane.uptime import maintenance, tallies, views
from control_plane.uptime.figures import fixed
from control_plane.uptime.slo import budget_minutes
from ui import cached_reads as reads
from ui import uptime_charts as charts
from ui import uptime_tables as tables
from ui.auth import page_guard
from ui.check_history import render_check_history
from ui.context import app_context
from ui.feedback import csv_download
from ui.formatting import table as readable_table
from ui.incident_form import render_incident_form
from ui.maintenance_forms import render_maintenance_forms
from ui.oncall_inbox import render_inbox
from ui.sla_report import render_sla_report
from ui.uptime_live import render_live

actor = page_guard(Permission.UPTIME_READ)
ctx = app_context()
settings = ctx.settings
can_manage = actor.can(Permission.INCIDENTS_MANAGE)
st.title("Uptime")
budget = fixed(budget_minutes(settings.slo_target), 1)
st.caption(f"SLO {settings.slo_target * 100:g}% over 30 days (error budget {budget} min), "
           f"p95 latency ≤ {settings.latency_slo_ms} ms. Counts exclude maintenance windows. "
           "Refreshes every minute.")
render_inbox(ctx, actor, key="uptime")
render_live(ctx)  # the fragment re-checks the session and passes the actor itself

slos, latency, timeline, history, windows, alerts, sla = st.tabs(
    ["SLOs", "Latency", "Incidents", "Check history", "Maintenance", "Alerts", "SLA report"])

with slos:
    table = reads.uptime_table(ctx, actor)
    if table.empty:
        st.info("No checks yet. The health sweep job probes every active tenant each minute.")
    else:
        scope = st.segmented_control("Show", list(tallies.SCOPES), default="all", key="uptime_scope")
        missed = st.toggle("Only targets missing the SLO", key="uptime_missed")
        shown = tallies.slo_rows(table, scope, missed_only=missed)
        readable, formats = tables.slo_table(shown, tables.tenant_names(ctx, actor, table["name"]))
        st.dataframe(readable, hide_index=True, width="stretch", column_config=formats)
        csv_download(shown, "uptime.csv", key="uptime_csv")

with latency:
    hours = st.selectbox("Window", [1, 24, 168], index=1, format_func=lambda h: f"last {h} h", key="latency_hours")
    frame = reads.latency(ctx, actor, hours)
    if frame.empty:
        st.info("No latency measured in this window.")
    else:
        st.metric("Targets over the latency SLO", f"{tallies.over_latency_slo(frame)} of {len(frame)}")
        names = tables.tenant_names(ctx, actor, frame["target"])
        st.plotly_chart(charts.slowest_targets(frame, settings.latency_slo_ms, names), width="stretch")
        st.dataframe(tables.latency_table(frame, names), hide_index=True, width="stretch")

with timeline:
    days = st.selectbox("Since", [1, 7, 30, 90], index=2, format_func=lambda d: f"last {d} days", key="incident_days")
    frame = views.incidents_frame(ctx, actor, days=days)
    if frame.empty:
        st.success("No incidents in this period.")
    else:
        names = tables.tenant_names(ctx, actor, frame["target"])
        st.plotly_chart(charts.incident_timeline(frame, names=names), width="stretch")
        st.caption(tallies.incident_tally(frame).describe())
        st.dataframe(tables.incidents_table(frame, names), hide_index=True, width="stretch")
        if can_manage:
            render_incident_form(ctx, actor, frame)

with history:
    render_check_history(ctx, actor)

with windows:
    st.dataframe(readable_table(maintenance.list_windows(ctx, actor), labels={"id": "Window"}), hide_index=True,
                 width="stretch")
    if can_manage:
        render_maintenance_forms(ctx, actor)

with alerts:
    recent = views.recent_alerts(ctx, actor)
    if recent.empty:
        st.info("No alerts yet.")
    else:
        if not settings.sns_topic_arn:
            st.caption("No SNS topic configured (CP_SNS_TOPIC_ARN): alerts are shown here only.")
        names = tables.tenant_names(ctx, actor, [*recent["target"], *recent["tenant"]])
        st.dataframe(tables.alerts_table(recent, names), hide_index=True, width="stretch")

with sla:
    render_sla_report(ctx, actor)

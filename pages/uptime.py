"""Uptime: what is down now, SLOs and error budgets, latency, incidents, check history,
maintenance windows, alerts and per-tenant SLA reports. Refreshes by itself."""

from datetime import UTC, datetime, timedelta

import plotly.express as px
import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.errors import ControlPlaneError
from control_plane.uptime import incidents, maintenance, views
from control_plane.uptime.slo import budget_minutes
from ui import uptime_cache as cache
from ui.auth import page_guard
from ui.context import app_context
from ui.feedback import csv_download, show_error
from ui.fragments import guarded_fragment
from ui.text import chart_frame, chart_text

actor = page_guard(Permission.UPTIME_READ)
ctx = app_context()
who = (actor.name, actor.role.value)
slo_pct = ctx.settings.slo_target * 100
can_manage = actor.can(Permission.INCIDENTS_MANAGE)
st.title("Uptime")
st.caption(f"SLO {slo_pct:g}% over 30 days (error budget {budget_minutes(ctx.settings.slo_target):.1f} min), "
           f"p95 latency ≤ {ctx.settings.latency_slo_ms} ms. Counts exclude maintenance windows. "
           "Refreshes every minute.")


@guarded_fragment(Permission.UPTIME_READ, run_every=timedelta(seconds=60))
def live(*, actor: Actor) -> None:
    try:
        figures = cache.fleet(actor.name, actor.role.value)
        down = views.down_now(ctx, actor)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    cols = st.columns(4)
    uptime = figures["uptime_30d_pct"]
    cols[0].metric("Fleet uptime (30 d)", "no data" if uptime is None else f"{uptime:.3f} %", border=True)
    budget = figures["budget_left_pct"]
    cols[1].metric("Error budget left", "no data" if budget is None else f"{budget:.1f} %", border=True)
    burn = figures["burn_rate_1h"]
    cols[2].metric("Burn rate (1 h)", "no data" if burn is None else f"{burn:.2f}×", border=True)
    cols[3].metric("Open incidents", figures["open_incidents"], border=True)
    st.subheader("Down now")
    if down.empty:
        st.success("Every target answered its latest check.", icon=":material/check_circle:")
    else:
        st.error(f"{len(down)} target(s) failing their latest check.", icon=":material/error:")
        st.dataframe(down, hide_index=True, width="stretch")
    st.caption(f"Updated {datetime.now(UTC):%H:%M:%S} UTC")


live()

slos, latency, timeline, history, windows, alerts, sla = st.tabs(
    ["SLOs", "Latency", "Incidents", "Check history", "Maintenance", "Alerts", "SLA report"])

with slos:
    table = cache.uptime_table(*who)
    if table.empty:
        st.info("No checks yet. The health sweep job probes every active tenant each minute.")
    else:
        scope = st.segmented_control("Show", ["all", "tenant", "platform"], default="all", key="uptime_scope")
        missed = st.toggle("Only targets missing the SLO", key="uptime_missed")
        shown = table if scope in (None, "all") else table[table["scope"] == scope]
        if missed:
            shown = shown[~shown["slo_met"]]
        st.dataframe(shown, hide_index=True, width="stretch", column_config={
            "uptime_24h": st.column_config.NumberColumn("24 h %", format="%.3f"),
            "uptime_7d": st.column_config.NumberColumn("7 d %", format="%.3f"),
            "uptime_30d": st.column_config.NumberColumn("30 d %", format="%.3f"),
            "budget_left_pct": st.column_config.ProgressColumn("Budget left", min_value=0, max_value=100,
                                                               format="%.1f %%"),
            "burn_rate_1h": st.column_config.NumberColumn("Burn 1 h", format="%.2f×"),
            "p95_latency_24h_ms": st.column_config.NumberColumn("p95 24 h (ms)", format="%.1f"),
            "scope": "Scope", "name": "Target", "slo_met": st.column_config.CheckboxColumn("SLO met"),
            "checks_30d": st.column_config.NumberColumn("Checks 30 d", format="%d")})
        csv_download(shown, "uptime.csv", key="uptime_csv")

with latency:
    hours = st.selectbox("Window", [1, 24, 168], index=1, format_func=lambda h: f"last {h} h", key="latency_hours")
    frame = cache.latency(*who, hours)
    if frame.empty:
        st.info("No latency measured in this window.")
    else:
        over = frame[frame["within_slo"] == False]  # noqa: E712 - pandas element-wise comparison
        st.metric("Targets over the latency SLO", f"{len(over)} of {len(frame)}")
        top = frame.head(30)
        figure = px.bar(chart_frame(top, "target"), x="target", y="p95_latency_ms", color="within_slo",
                        labels={"p95_latency_ms": "p95 latency (ms)"}, title="Slowest targets (p95)")
        figure.add_hline(y=ctx.settings.latency_slo_ms, line_dash="dash", annotation_text="SLO")
        st.plotly_chart(figure, width="stretch")
        st.dataframe(frame, hide_index=True, width="stretch")

with timeline:
    days = st.selectbox("Since", [1, 7, 30, 90], index=2, format_func=lambda d: f"last {d} days", key="incident_days")
    frame = views.incidents_frame(ctx, actor, days=days)
    if frame.empty:
        st.success("No incidents in this period.")
    else:
        chart = frame.assign(end=frame["resolved_at"].fillna(datetime.now(UTC)))
        figure = px.timeline(chart_frame(chart, "target", "last_error"), x_start="opened_at", x_end="end",
                             y="target", color="status", hover_data=["duration_min", "failed_checks", "last_error"],
                             title="Incidents")
        st.plotly_chart(figure, width="stretch")
        resolved = frame[frame["status"] == "resolved"]
        mttr = views.incidents_mttr_minutes(frame)
        st.caption(f"{len(frame)} incidents, {len(frame) - len(resolved)} open; MTTR "
                   + ("n/a" if mttr is None else f"{mttr:.1f} min"))
        st.dataframe(frame, hide_index=True, width="stretch")
        if can_manage:
            with st.form("ack_form"):
                labels = {int(i): f"#{i} {t} ({s})" for i, t, s in zip(frame["id"], frame["target"],
                                                                        frame["status"], strict=True)}
                choice = st.selectbox("Incident", list(labels), key="ack_id", format_func=labels.get)
                note = st.text_area("Note (what happened, what was done)", key="ack_note", max_chars=2000)
                ack, save = st.columns(2)
                do_ack = ack.form_submit_button("Acknowledge", type="primary")
                do_note = save.form_submit_button("Save note")
            if do_ack or do_note:
                try:
                    if do_ack:
                        incidents.acknowledge(ctx, actor, int(choice), note)
                        st.success(f"Incident #{choice} acknowledged.")
                    else:
                        incidents.set_note(ctx, actor, int(choice), note)
                        st.success(f"Note saved on incident #{choice}.")
                except ControlPlaneError as exc:
                    show_error(exc)

with history:
    names = cache.targets(*who)
    if not names:
        st.info("No targets have been checked in the last 7 days.")
    else:
        pick, span = st.columns([3, 1])
        target = pick.selectbox("Target", names, key="history_target")
        hours = span.selectbox("Span", [1, 6, 24, 72, 168, 720], index=2, key="history_hours",
                               format_func=lambda h: f"{h} h" if h < 72 else f"{h // 24} days")
        points = views.check_history(ctx, actor, target, hours=hours)
        if points.empty:
            st.info("No checks of this target in this span.")
        else:
            up = points["ok"].sum() / points["checks"].sum() * 100
            st.metric("Uptime in span", f"{up:.3f} %")
            figure = px.scatter(chart_frame(points, "error"), x="at", y="latency_ms", color=points["uptime_pct"] >= 100,
                                color_discrete_map={True: "seagreen", False: "crimson"},
                                labels={"color": "all ok", "latency_ms": "latency (ms)"}, hover_data=["error"],
                                title=f"{chart_text(target)}: latency, failures in red")
            st.plotly_chart(figure, width="stretch")

with windows:
    st.dataframe(maintenance.list_windows(ctx, actor), hide_index=True, width="stretch")
    if can_manage:
        with st.form("maintenance_form"):
            kind = st.radio("Applies to", ["target", "tenant", "everything"], horizontal=True, key="mw_kind")
            scope = st.text_input("Target or tenant slug (empty for everything)", key="mw_scope")
            day, clock, length = st.columns(3)
            start_day = day.date_input("Starts (UTC)", key="mw_day")
            start_time = clock.time_input("at", key="mw_time")
            duration = length.number_input("Hours", min_value=0.25, max_value=744.0, value=1.0, step=0.25,
                                           key="mw_hours")
            reason = st.text_input("Reason", key="mw_reason")
            declare = st.form_submit_button("Declare maintenance window", type="primary")
        if declare:
            starts = datetime.combine(start_day, start_time, tzinfo=UTC)
            try:
                window = maintenance.declare(
                    ctx, actor, starts, starts + timedelta(hours=duration), reason,
                    target=scope if kind == "target" else None, tenant_slug=scope if kind == "tenant" else None)
                cache.clear()
                st.success(f"Maintenance window #{window.id} declared.")
            except ControlPlaneError as exc:
                show_error(exc)
        with st.expander("Delete a window"):
            window_id = st.number_input("Window id", min_value=1, step=1, key="mw_delete_id")
            sure = st.checkbox("I understand the checks in it count again", key="mw_delete_sure")
            if st.button("Delete", disabled=not sure, key="mw_delete"):
                try:
                    maintenance.delete(ctx, actor, int(window_id))
                    cache.clear()
                    st.success(f"Maintenance window #{window_id} deleted.")
                except ControlPlaneError as exc:
                    show_error(exc)

with alerts:
    recent = views.recent_alerts(ctx, actor)
    if recent.empty:
        st.info("No alerts yet.")
    else:
        if not ctx.settings.sns_topic_arn:
            st.caption("No SNS topic configured (CP_SNS_TOPIC_ARN): alerts are shown here only.")
        st.dataframe(recent, hide_index=True, width="stretch")

with sla:
    slug_col, months_col = st.columns([3, 1])
    slug = slug_col.text_input("Tenant slug", key="sla_slug")
    months = months_col.number_input("Months", min_value=1, max_value=36, value=12, key="sla_months")
    if slug.strip():
        try:
            report = cache.sla(*who, slug.strip(), int(months))
        except ControlPlaneError as exc:
            show_error(exc)
        else:
            st.dataframe(report, hide_index=True, width="stretch")
            csv_download(report, f"sla-{slug.strip()}.csv", key="sla_csv", label="Download SLA report (CSV)")
    else:
        st.info("Enter a tenant slug for its monthly uptime, incidents and downtime.")

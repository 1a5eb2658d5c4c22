"""Usage: noisy-neighbour flags with what to do (admins: move the tenant), top consumers, per-tenant daily
trends, and tenants and load per cluster."""

import streamlit as st

from control_plane.auth.permissions import Permission
from control_plane.errors import ControlPlaneError
from ui import cached_reads as reads
from ui.auth import page_guard
from ui.aws_charts import human_bytes, usage_figure
from ui.cluster_load import render_cluster_load
from ui.context import app_context
from ui.feedback import csv_download, show_error
from ui.formatting import table as readable
from ui.navigation import link
from ui.tenant_move import OPEN_PARAM
from ui.text import advice, plain

actor = page_guard(Permission.USAGE_READ)
ctx = app_context()
st.title("Usage")
if ctx.settings.demo:
    st.caption(":orange-badge[Demo mode] Usage history is generated demo data; request metrics come from "
               "simulated CloudWatch.")

WINDOWS = {"30 days": 30, "90 days": 90, "6 months": 182, "12 months": 365, "18 months": 548}
METRICS = {"requests": "Requests / day", "errors": "Errors / day", "storage_bytes": "Storage (bytes)",
           "p95_latency_ms": "p95 latency (ms)", "connections": "Connections (peak)", "row_estimate": "Rows (est.)"}


RANKS = {"requests_per_day": "Requests / day", "errors_per_day": "Errors / day", "requests": "Requests (window total)",
         "error_rate": "Error rate", "storage_bytes": "Storage"}
TOP_LABELS = {"slug": "Slug", "requests_per_day": "Requests / day", "errors_per_day": "Errors / day",
              "days_with_usage": "Days with usage", "requests": "Requests (window)", "errors": "Errors (window)",
              "worst_p95_ms": "Worst p95 (ms)"}

window = st.segmented_control("Window", list(WINDOWS), default="30 days", key="usage_window") or "30 days"
days = WINDOWS[window]
today = ctx.clock().date()  # the window ends on the context's day (tests pin it)

st.subheader("Noisy neighbours")
show_cleared = st.toggle("Include cleared flags (last 30 days)", key="usage_show_cleared")
flags = reads.noisy_flags(ctx, actor, show_cleared)
if flags.empty:
    st.success("No tenant is using 10× its usual load right now.", icon=":material/check_circle:")
else:
    open_count = int(flags["cleared_at"].isna().sum())
    if open_count:
        st.warning(f"{open_count} noisy-neighbour flag(s) open: usage jumped over the trailing 7-day baseline.",
                   icon=":material/warning:")
    for row in flags.itertuples():
        state = "cleared" if row.cleared_at is not None and str(row.cleared_at) != "NaT" else "open"
        with st.container(border=True):
            st.markdown(f"**{plain(row.slug)}** · {plain(row.metric)} · **{row.factor:g}×** baseline · {state}")
            st.caption(advice(row.recommendation))
            if state == "open" and actor.can(Permission.TENANTS_MOVE):  # the move itself is admin only
                link(actor, "pages/tenants.py", f"Move {plain(row.slug)} to another cluster",
                     {"tenant": row.slug, OPEN_PARAM: "1"}, icon=":material/move_down:")

st.subheader("Top consumers")
metric = st.selectbox("Rank by", list(RANKS), key="usage_rank", format_func=RANKS.get)
top = reads.top_consumers(ctx, actor, metric, days, today)
if top.empty:
    st.info("No usage recorded yet. The usage_rollup job fills this in every hour.", icon=":material/bar_chart:")
else:
    st.caption(f"Per day: the average over the days each tenant had usage in the last {window} "
               "(a tenant created last week is ranked by its own days, not diluted over the window).")
    shown = top.assign(storage_bytes=top["storage_bytes"].map(human_bytes))
    st.dataframe(readable(shown, labels=TOP_LABELS), hide_index=True, width="stretch", height=320)
    csv_download(top, f"top-consumers-{metric}-{days}d.csv", key="usage_top_csv")

st.subheader("Tenant trend")
slugs = list(top["slug"]) if not top.empty else []
slug = st.selectbox("Tenant", slugs, key="usage_tenant", index=0 if slugs else None,
                    placeholder="No tenants with usage yet", accept_new_options=True)
daily = None
if slug:
    try:
        daily = reads.tenant_daily_usage(ctx, actor, slug, days, today)
    except ControlPlaneError as exc:
        show_error(exc)
if daily is not None:
    if daily.empty:
        st.info(f"No usage recorded for {plain(slug)} in the last {window}.")  # a typed option
    else:
        chosen = st.segmented_control("Metric", list(METRICS), default="requests", key="usage_metric",
                                      format_func=METRICS.get) or "requests"
        st.plotly_chart(usage_figure(daily, chosen, METRICS[chosen]), width="stretch")
        csv_download(daily, f"usage-{slug}-{days}d.csv", key="usage_daily_csv", label="Download daily usage (CSV)")

render_cluster_load(ctx, actor, key="usage")

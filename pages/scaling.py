"""Scaling: Aurora capacity and utilisation per cluster with the scaler's decisions marked, and the
decision log, and tenants and load per cluster (on-call, admin)."""

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.errors import ControlPlaneError
from control_plane.scaling import queries
from control_plane.scaling.policy import PolicyConfig
from ui import cached_reads as reads
from ui.auth import page_guard
from ui.aws_charts import capacity_figure
from ui.cluster_load import render_cluster_load
from ui.context import app_context
from ui.feedback import csv_download
from ui.formatting import MISSING
from ui.formatting import table as readable
from ui.fragments import guarded_fragment
from ui.text import plain

actor = page_guard(Permission.SCALING_READ)
ctx = app_context()
policy = PolicyConfig()
st.title("Scaling")
simulated = ctx.simulated_aws
if simulated:
    st.caption(f":orange-badge[Simulated AWS] {simulated.label}: metrics and the Aurora cluster are generated.")
settings = ctx.settings
st.caption(f"Policy: raise max ACU when utilisation stays ≥ {policy.up_threshold_pct:g}% for 15 min; lower it when "
           f"it stays ≤ {policy.down_threshold_pct:g}% for 6 h (never below capacity in use); steps of at most "
           f"{settings.scaling_max_step_acu:g} ACU, cooldown {settings.scaling_cooldown_minutes} min, within each "
           "cluster's floor and ceiling. Checked every 5 minutes.")
if settings.scaling_dry_run:
    st.info("Dry run is on (CP_SCALING_DRY_RUN): decisions are recorded but not applied.", icon=":material/science:")


clusters = reads.scaled_clusters(ctx, actor)
if not clusters:
    st.info("No cluster has an Aurora id yet, so nothing is scaled. Register one with "
            "`python -m control_plane clusters add NAME --url-env VAR --aurora-cluster ID`.", icon=":material/tune:")
    render_cluster_load(ctx, actor, key="scaling")
    st.stop()

left, right = st.columns([2, 1])
names = [c["cluster"] for c in clusters]
name = left.selectbox("Cluster", names, key="scaling_cluster")
windows = {"6 hours": 6, "24 hours": 24, "7 days": 168}
window = right.segmented_control("Window", list(windows), default="24 hours", key="scaling_window") or "24 hours"
chosen = next(c for c in clusters if c["cluster"] == name)

cols = st.columns(4)
cols[0].metric("Min ACU now", MISSING if chosen["min_acu"] is None else f"{chosen['min_acu']:g}", border=True)
cols[1].metric("Max ACU now", MISSING if chosen["max_acu"] is None else f"{chosen['max_acu']:g}", border=True)
cols[2].metric("Floor / ceiling", f"{chosen['acu_floor']:g} / {chosen['acu_ceiling']:g}", border=True)
# A tile cuts a long id off (Aurora ids have up to 63 characters): the tile shows the cluster's
# state, the line under the tiles the whole id.
cols[3].metric("Aurora cluster", plain(chosen["status"] or MISSING), border=True,
               help=f"Aurora cluster id: {plain(chosen['aurora_cluster_id'])}")
st.caption(f"Aurora cluster id: {plain(chosen['aurora_cluster_id'])}")
if chosen["problem"]:
    st.error(f"Cannot read the Aurora cluster: {plain(chosen['problem'])}")


@guarded_fragment(Permission.SCALING_READ, run_every=60)
def chart_and_log(cluster: str, hours: int, max_now: float | None, *, actor: Actor) -> None:
    decisions = queries.decisions_frame(ctx, actor, cluster=cluster, hours=hours)
    try:
        history = reads.capacity_history(ctx, actor, cluster, hours)
    except ControlPlaneError as exc:
        st.error(f"Capacity history unavailable: {plain(exc)}")
        history = pd.DataFrame(columns=["at", "capacity_acu", "utilisation_pct"])
    if history.empty and decisions.empty:
        st.info("No capacity data or decisions in this window yet.")
    else:
        st.plotly_chart(capacity_figure(history, decisions, up_pct=policy.up_threshold_pct,
                                        down_pct=policy.down_threshold_pct, max_now=max_now), width="stretch")
    st.subheader("Decision log")
    if decisions.empty:
        st.caption("No decisions recorded in this window. The aurora_capacity job records one per cluster and run, "
                   "including “no change”.")
        return
    words = decisions.assign(action=decisions["action"].str.replace("_", " "))
    shown = readable(words.drop(columns=["inputs", "cluster"]), flag_cols={"dry_run": ("dry run", "applied")},
                     labels={"at": "When (UTC)", "aurora_cluster_id": "Aurora cluster"})
    st.dataframe(shown, hide_index=True, width="stretch")
    csv_download(decisions, f"scaling-{cluster}.csv", key="scaling_csv")


chart_and_log(name, windows[window], chosen["max_acu"])
render_cluster_load(ctx, actor, key="scaling")

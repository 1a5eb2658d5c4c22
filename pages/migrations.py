"""Migrations: template revisions, the fleet's versions, the current run (waves, progress, soak,
the health verdicts that decided each promotion, per-tenant results) and its controls
(docs/migrations.md). Runs started here are queued: the worker drives them, the page never waits."""

from datetime import timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.errors import ControlPlaneError
from control_plane.fleet import service as fleet
from control_plane.fleet.options import Options, parse_duration
from control_plane.fleet.planner import parse_waves
from ui.auth import page_guard
from ui.context import app_context
from ui.feedback import csv_download, show_error
from ui.fragments import guarded_fragment
from ui.text import plain

actor = page_guard(Permission.MIGRATIONS_READ)
ctx = app_context()
can_run = actor.can(Permission.MIGRATIONS_RUN)
st.title("Migrations")

versions = fleet.revisions_and_versions(ctx, actor)
left, right = st.columns([3, 2])
left.dataframe(pd.DataFrame(versions["revisions"]), hide_index=True, width="stretch")
spread = pd.DataFrame(versions["tenants"], columns=["version", "status", "tenants"])
if spread.empty:
    right.info("No tenants yet.")
else:
    right.plotly_chart(px.bar(spread.assign(version=spread["version"].map(lambda v: f"v{v}")), x="version",
                              y="tenants", color="status", title="Tenants per template version"), width="stretch")


@guarded_fragment(Permission.MIGRATIONS_READ, run_every=timedelta(seconds=5))
def current_run(*, actor: Actor) -> None:
    run = fleet.status(ctx, actor)
    if run.get("run", True) is None:
        st.info("No migration run yet.")
        return
    st.subheader(f"Run {run['id']}: {run['status']} → v{run['target_version']}")
    soak = f", soaking until {run['soak_until'][:19]} UTC" if run["status"] == "soaking" and run["soak_until"] else ""
    st.caption(f"Waves {', '.join(f'{w}%' for w in run['waves'])}; wave {run['current_wave']}{soak}; "
               f"started by {plain(run['created_by'])}")
    if run["halt_reason"]:
        st.error(plain(run["halt_reason"]), icon=":material/pause_circle:")
    progress = pd.DataFrame([{"wave": int(w), **c} for w, c in run["progress"].items()]).fillna(0)
    st.dataframe(progress, hide_index=True, width="stretch")
    if run["decisions"]:
        st.dataframe(pd.DataFrame([{
            "wave": d["wave"], "verdict": d["verdict"], "reasons": "; ".join(d["reasons"]),
            "migrated failed/checks": f"{d['migrated']['failed']}/{d['migrated']['checks']}",
            "others failed/checks": f"{d['baseline']['failed']}/{d['baseline']['checks']}",
            "migrated incidents": d["migrated"]["incidents"], "others incidents": d["baseline"]["incidents"],
            "migrated p95 ms": d["migrated"]["p95_latency_ms"], "others p95 ms": d["baseline"]["p95_latency_ms"],
            "error rate (CloudWatch)": d.get("error_rate", ""),  # runs judged before it was compared lack it
        } for d in run["decisions"]]), hide_index=True, width="stretch")
    results = pd.DataFrame(run["results"])
    shown = st.selectbox("Results", ["all", "failed", "pending", "applied", "skipped", "reversed"],
                         key="migrations_result_filter")
    if shown != "all" and not results.empty:
        results = results[results["status"] == shown]
    st.dataframe(results, hide_index=True, width="stretch")
    csv_download(results, f"migration-run-{run['id']}.csv", key="migrations_csv")
    if can_run:
        controls(run)


def controls(run: dict) -> None:
    sure = st.checkbox(f"I mean it: act on run {run['id']}", key="migrations_confirm")
    halt, resume, rollback = st.columns(3)
    try:
        if halt.button("Halt", disabled=not sure or run["status"] not in ("planned", "running", "soaking"),
                       key="migrations_halt"):
            fleet.halt(ctx, actor, run["id"], "halted from the Migrations page")
            st.rerun()
        if resume.button("Resume", disabled=not sure or run["status"] != "halted", key="migrations_resume"):
            fleet.resume(ctx, actor, run["id"], queue=True)
            st.rerun()
        if rollback.button("Roll back", disabled=not sure or run["status"] not in ("halted", "completed"),
                           key="migrations_rollback"):
            fleet.rollback(ctx, actor, run["id"])
            st.rerun()
    except ControlPlaneError as exc:
        show_error(exc)


current_run()

if can_run:
    st.subheader("Start a rollout")
    with st.form("migrations_start"):
        target = st.selectbox("To version", [r["version"] for r in versions["revisions"]][::-1], key="migrations_to")
        waves = st.text_input("Waves (cumulative %)", "5,25,100", key="migrations_waves")
        soak = st.text_input("Soak between waves", "10m", key="migrations_soak")
        sure = st.checkbox("Start this rollout (the worker drives it)", key="migrations_start_confirm")
        if st.form_submit_button("Start", type="primary"):
            try:
                if not sure:
                    raise ControlPlaneError("Tick the box to confirm the rollout.")
                options = Options(target=target, waves=parse_waves(waves), soak_seconds=parse_duration(soak))
                started = fleet.start(ctx, actor, options, queue=True)
                st.success(plain(started.message))
            except ControlPlaneError as exc:
                show_error(exc)

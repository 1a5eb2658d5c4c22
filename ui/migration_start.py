"""Start a rollout from the Migrations page, or see first what it would do (Dry run: the CLI's
`migrate --dry-run`, the same service function, nothing changed). A started run is queued for the
worker, so the page never waits on it (docs/migrations.md "Worker"); its message lives with the
run (ui/migration_run.py) and goes when the run has ended, and the confirmation is unticked."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.fleet import service as fleet
from control_plane.fleet.options import Options, parse_duration
from control_plane.fleet.planner import parse_waves
from ui.feedback import show_error
from ui.formatting import table as readable
from ui.text import plain

STARTED = "migrations_started"  # {"run": id, "message": text} until that run has ended
_UNTICK = "migrations_untick_start"


def render_start_form(ctx: AppContext, actor: Actor, versions: list[int]) -> None:
    st.subheader("Start a rollout")
    if st.session_state.pop(_UNTICK, False):  # before the checkbox exists in this run
        st.session_state["migrations_start_confirm"] = False
    with st.form("migrations_start"):
        target = st.selectbox("To version", sorted(versions, reverse=True), key="migrations_to")
        waves = st.text_input("Waves (cumulative %)", "5,25,100", key="migrations_waves")
        soak = st.text_input("Soak between waves", "10m", key="migrations_soak")
        sure = st.checkbox("Start this rollout (the worker drives it)", key="migrations_start_confirm")
        dry, start = st.columns(2)
        dry_run = dry.form_submit_button("Dry run", icon=":material/science:", key="migrations_dry_run",
                                         help="What a rollout would do, wave by wave; nothing is changed.")
        go = start.form_submit_button("Start", type="primary", key="migrations_start")
    if not (dry_run or go):
        return
    try:
        options = Options(target=target, waves=parse_waves(waves), soak_seconds=parse_duration(soak))
        if dry_run:
            _show_plan(fleet.plan(ctx, actor, options).as_dict())
            return
        if not sure:
            raise ControlPlaneError("Tick the box to confirm the rollout.")
        started = fleet.start(ctx, actor, options, queue=True)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    if started.run_id is None:
        st.info(plain(started.message))
        return
    st.session_state[STARTED] = {"run": started.run_id, "message": started.message}
    st.session_state[_UNTICK] = True
    st.rerun()


def _show_plan(plan: dict) -> None:
    waves = plan["waves"]
    st.info(f"Dry run, nothing changed: {plan['tenants']:,} tenant(s) would move to v{plan['target_version']} "
            f"in {len(waves)} wave(s); {len(plan['skipped']):,} skipped (not active).", icon=":material/science:")
    if waves:
        frame = pd.DataFrame([{"wave": w["wave"], "tenants": len(w["tenants"]), "plans": ", ".join(w["plans"]),
                               "clusters": ", ".join(w["clusters"])} for w in waves])
        st.dataframe(readable(frame), hide_index=True, width="stretch")
    if plan["revisions"]:
        st.caption("Revisions applied: " + plain(", ".join(f"v{r['version']} {r['name']}"
                                                            for r in plan["revisions"])))

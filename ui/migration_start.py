"""Start a rollout from the Migrations page: target version, waves and soak, confirmed; the run is
queued for the worker, so the page never waits on it (docs/migrations.md "Worker")."""

from __future__ import annotations

import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.fleet import service as fleet
from control_plane.fleet.options import Options, parse_duration
from control_plane.fleet.planner import parse_waves
from ui.feedback import show_error
from ui.text import plain


def render_start_form(ctx: AppContext, actor: Actor, versions: list[int]) -> None:
    st.subheader("Start a rollout")
    with st.form("migrations_start"):
        target = st.selectbox("To version", sorted(versions, reverse=True), key="migrations_to")
        waves = st.text_input("Waves (cumulative %)", "5,25,100", key="migrations_waves")
        soak = st.text_input("Soak between waves", "10m", key="migrations_soak")
        sure = st.checkbox("Start this rollout (the worker drives it)", key="migrations_start_confirm")
        if not st.form_submit_button("Start", type="primary"):
            return
    try:
        if not sure:
            raise ControlPlaneError("Tick the box to confirm the rollout.")
        options = Options(target=target, waves=parse_waves(waves), soak_seconds=parse_duration(soak))
        st.success(plain(fleet.start(ctx, actor, options, queue=True).message))
    except ControlPlaneError as exc:
        show_error(exc)

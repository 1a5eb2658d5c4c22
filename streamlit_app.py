"""Entry point: settings, sign-in, and st.navigation with only the pages the role may see."""

from __future__ import annotations

import streamlit as st

from control_plane.errors import ControlPlaneError
from ui.auth import current_actor, render_sign_in, role_label, sign_out
from ui.context import app_context
from ui.navigation import pages_for

st.set_page_config(page_title="Control Plane", page_icon=":material/hub:", layout="wide")

try:
    ctx = app_context()
except ControlPlaneError as exc:
    st.title("Control Plane cannot start")
    st.error(str(exc))
    st.stop()

actor = current_actor()
if actor is None:
    navigation = st.navigation([st.Page(render_sign_in, title="Sign in", icon=":material/login:")])
else:
    pages = [st.Page(p.path, title=p.title, icon=p.icon) for p in pages_for(actor)]
    navigation = st.navigation(pages)
    with st.sidebar:
        if ctx.settings.demo:
            st.caption(":orange-badge[DEMO MODE] demo data, simulated AWS")
        st.caption(f"Signed in as **{actor.name}** ({role_label(actor.role)})")
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()
navigation.run()

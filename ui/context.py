"""One AppContext per server process, built on first use and cached across sessions."""

from __future__ import annotations

import streamlit as st

from control_plane.context import AppContext


@st.cache_resource(show_spinner="Starting the control plane (database, demo data)…")
def app_context() -> AppContext:
    from control_plane.runtime import start_runtime

    return start_runtime()

"""One AppContext per server process, built on first use and cached across sessions."""

from __future__ import annotations

import streamlit as st

from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from ui.errors import catalog_unreachable, show_catalog_unreachable
from ui.text import plain


@st.cache_resource(show_spinner="Starting the control plane… On the first start in demo mode this also "
                                "seeds the demo data (real tenant schemas and history), which takes a little while.")
def app_context() -> AppContext:
    from control_plane.runtime import start_runtime

    return start_runtime()


def context_or_stop() -> AppContext:
    """The context, or a page that says why the app cannot start (and the script stops)."""
    try:
        return app_context()
    except ControlPlaneError as exc:
        st.title("Control Plane cannot start")
        if catalog_unreachable(exc):  # its reason names the catalog's host and port: the server log only
            show_catalog_unreachable(exc)
            st.stop()
        st.error(plain(exc))  # may quote a setting's value
        st.caption("Fix the configuration (see docs/configuration.md) and reload the page.")
        st.stop()
        raise  # st.stop() raises; this line only satisfies type checkers

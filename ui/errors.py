"""The last line of defence for a page run: outside demo mode an unexpected exception (a bug; the
expected ones are ControlPlaneError and shown by the pages) reaches the browser only as an error
id. The traceback, which can hold SQL and its parameters, goes to the server log under that id.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import streamlit as st

log = logging.getLogger(__name__)


def show_error_details(demo: bool) -> None:
    """Streamlit's own handler (fragments, page files opened by URL) follows the same rule:
    tracebacks in the browser only in demo mode (.streamlit/config.toml defaults to "none")."""
    st.set_option("client.showErrorDetails", "full" if demo else "none")


def run_guarded(body: Callable[[], None], *, demo: bool) -> None:
    try:
        body()
    except Exception as exc:  # st.stop()/st.rerun() are BaseException and pass through
        if demo:
            raise  # demo mode shows the full traceback: it helps whoever is trying the app
        error_id = secrets.token_hex(4)
        log.error("unexpected error %s while running the page", error_id, exc_info=exc)
        st.error(f"Something went wrong (error id {error_id}). Nothing more is shown here; whoever runs "
                 "the app finds the details in the server log under that id.")

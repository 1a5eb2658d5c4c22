"""How pages run an action and tell the person what happened: a spinner while it runs, the
service's own message when it refuses, and a success note that survives the rerun."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from control_plane.errors import ControlPlaneError

_FLASH = "cp_flash"


def flash(message: str) -> None:
    st.session_state[_FLASH] = message


def show_flash() -> None:
    message = st.session_state.pop(_FLASH, None)
    if message:
        st.success(message, icon=":material/check_circle:")


def attempt(running: str, action: Callable[[], object], where=None) -> bool:
    """Run a service call under a spinner. False (and the service's message shown, in `where`
    when given) if it raised a ControlPlaneError; anything else is a bug and propagates."""
    target = where or st
    try:
        with st.spinner(running):
            action()
    except ControlPlaneError as exc:
        target.error(str(exc), icon=":material/error:")
        return False
    return True


def csv_download(frame: pd.DataFrame, file_name: str, key: str, label: str = "Download CSV") -> None:
    st.download_button(label, frame.to_csv(index=False).encode(), file_name=file_name, mime="text/csv",
                       key=key, icon=":material/download:", disabled=frame.empty)

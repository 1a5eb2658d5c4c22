"""How pages run an action and tell the person what happened: a spinner while it runs, the
service's own message when it refuses, and a success note that survives the rerun. Messages
quote what people typed (names, reasons, slugs from a link), so they are shown as text; CSV
downloads are formula-safe (docs/security.md "Untrusted input")."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

import pandas as pd
import streamlit as st

from control_plane import csv_safety
from control_plane.errors import ControlPlaneError
from ui.text import plain

_FLASH = "cp_flash"


def flash(message: str) -> None:
    st.session_state[_FLASH] = message


def show_flash() -> None:
    message = st.session_state.pop(_FLASH, None)
    if message:
        st.success(plain(message), icon=":material/check_circle:")


def attempt(running: str, action: Callable[[], object], where=None) -> bool:
    """Run a service call under a spinner. False (and the service's message shown, in `where`
    when given) if it raised a ControlPlaneError; anything else is a bug and propagates."""
    try:
        with st.spinner(running):
            action()
    except ControlPlaneError as exc:
        show_error(exc, where)
        return False
    return True


def show_error(exc: ControlPlaneError, where=None) -> None:
    """A service's refusal, as text: its message may quote a tenant name, a reason or a slug."""
    (where or st).error(plain(exc), icon=":material/error:")


def csv_download(frame: pd.DataFrame, file_name: str, key: str, label: str = "Download CSV") -> None:
    """Every download of the app goes through here: cells a spreadsheet would run are neutralised."""
    st.download_button(label, csv_safety.frame_to_csv(frame), file_name=file_name, mime="text/csv",
                       key=key, icon=":material/download:", disabled=frame.empty)


def csv_download_built(build: Callable[[], IO[bytes]], file_name: str, key: str, *, help: str,
                       label: str = "Download CSV") -> None:
    """A download too large to build on every rerun: `build` runs on the click and must write every
    cell through control_plane.csv_safety (as services/tenant_export.py does)."""
    st.download_button(label, build, file_name=file_name, mime="text/csv", key=key,
                       icon=":material/download:", help=help)

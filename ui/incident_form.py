"""Acknowledge an incident or save a note on it (on-call, admin: Permission.INCIDENTS_MANAGE;
the service checks again and audits). The note was typed by a person: stored and shown as text."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.uptime import incidents
from ui.feedback import show_error


def render_incident_form(ctx: AppContext, actor: Actor, shown: pd.DataFrame) -> None:
    """A form over the incidents of a `views.incidents_frame` that is on the screen."""
    with st.form("ack_form"):
        labels = {int(i): f"#{i} {t} ({s})" for i, t, s in zip(shown["id"], shown["target"], shown["status"],
                                                                strict=True)}
        choice = st.selectbox("Incident", list(labels), key="ack_id", format_func=labels.get)
        note = st.text_area("Note (what happened, what was done)", key="ack_note", max_chars=2000)
        ack, save = st.columns(2)
        do_ack = ack.form_submit_button("Acknowledge", type="primary")
        do_note = save.form_submit_button("Save note")
    if not (do_ack or do_note):
        return
    try:
        if do_ack:
            incidents.acknowledge(ctx, actor, int(choice), note)
            st.success(f"Incident #{choice} acknowledged.")
        else:
            incidents.set_note(ctx, actor, int(choice), note)
            st.success(f"Note saved on incident #{choice}.")
    except ControlPlaneError as exc:
        show_error(exc)

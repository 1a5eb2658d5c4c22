"""Declare and delete maintenance windows (on-call, admin: Permission.INCIDENTS_MANAGE; the
service checks again and audits). A change alters every uptime count, so the cached uptime reads
are dropped at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from control_plane.auth.permissions import Actor
from control_plane.context import AppContext
from control_plane.errors import ControlPlaneError
from control_plane.uptime import maintenance
from ui import cached_reads as reads
from ui.feedback import show_error


def render_maintenance_forms(ctx: AppContext, actor: Actor) -> None:
    _declare(ctx, actor)
    _delete(ctx, actor)


def _declare(ctx: AppContext, actor: Actor) -> None:
    with st.form("maintenance_form"):
        kind = st.radio("Applies to", ["target", "tenant", "everything"], horizontal=True, key="mw_kind")
        scope = st.text_input("Target or tenant slug (empty for everything)", key="mw_scope")
        day, clock, length = st.columns(3)
        start_day = day.date_input("Starts (UTC)", key="mw_day")
        start_time = clock.time_input("at", key="mw_time")
        duration = length.number_input("Hours", min_value=0.25, max_value=744.0, value=1.0, step=0.25,
                                       key="mw_hours")
        reason = st.text_input("Reason", key="mw_reason")
        declare = st.form_submit_button("Declare maintenance window", type="primary")
    if not declare:
        return
    starts = datetime.combine(start_day, start_time, tzinfo=UTC)
    try:
        window = maintenance.declare(
            ctx, actor, starts, starts + timedelta(hours=duration), reason,
            target=scope if kind == "target" else None, tenant_slug=scope if kind == "tenant" else None)
    except ControlPlaneError as exc:
        show_error(exc)
        return
    reads.clear_uptime()
    st.success(f"Maintenance window #{window.id} declared.")


def _delete(ctx: AppContext, actor: Actor) -> None:
    with st.expander("Delete a window"):
        window_id = st.number_input("Window id", min_value=1, step=1, key="mw_delete_id")
        sure = st.checkbox("I understand the checks in it count again", key="mw_delete_sure")
        if not st.button("Delete", disabled=not sure, key="mw_delete"):
            return
        try:
            maintenance.delete(ctx, actor, int(window_id))
        except ControlPlaneError as exc:
            show_error(exc)
            return
        reads.clear_uptime()
        st.success(f"Maintenance window #{window_id} deleted.")

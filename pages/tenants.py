"""Tenants: find one in a second, see everything about it, act on it (support)."""

import streamlit as st

from control_plane.auth.permissions import Permission
from ui.auth import page_guard
from ui.context import app_context
from ui.feedback import show_flash
from ui.provision_form import render_provision_form
from ui.tenant_detail import render_detail
from ui.tenant_list import render_list

actor = page_guard(Permission.TENANTS_READ)
ctx = app_context()
show_flash()

slug = st.query_params.get("tenant")
if slug:
    render_detail(ctx, actor, slug)
else:
    st.title("Tenants")
    if actor.can(Permission.TENANTS_PROVISION):
        with st.expander("Provision a new tenant", icon=":material/add_business:"):
            render_provision_form(ctx, actor)
    render_list(ctx)  # the fragment re-checks the session and passes the actor itself

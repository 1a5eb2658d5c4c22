"""Tenants."""

import streamlit as st

from control_plane.auth.permissions import Permission
from ui.auth import page_guard

actor = page_guard(Permission.TENANTS_READ)
st.title("Tenants")
st.info("This screen is being built.")

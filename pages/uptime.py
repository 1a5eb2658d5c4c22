"""Uptime."""

import streamlit as st

from control_plane.auth.permissions import Permission
from ui.auth import page_guard

actor = page_guard(Permission.UPTIME_READ)
st.title("Uptime")
st.info("This screen is being built.")

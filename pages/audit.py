"""Audit log."""

import streamlit as st

from control_plane.auth.permissions import Permission
from ui.auth import page_guard

actor = page_guard(Permission.AUDIT_READ)
st.title("Audit log")
st.info("This screen is being built.")

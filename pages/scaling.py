"""Scaling."""

import streamlit as st

from control_plane.auth.permissions import Permission
from ui.auth import page_guard

actor = page_guard(Permission.SCALING_READ)
st.title("Scaling")
st.info("This screen is being built.")

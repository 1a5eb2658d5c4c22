"""Usage."""

import streamlit as st

from control_plane.auth.permissions import Permission
from ui.auth import page_guard

actor = page_guard(Permission.USAGE_READ)
st.title("Usage")
st.info("This screen is being built.")

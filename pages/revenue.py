"""Revenue."""

import streamlit as st

from control_plane.auth.permissions import Permission
from ui.auth import page_guard

actor = page_guard(Permission.REVENUE_READ)
st.title("Revenue")
st.info("This screen is being built.")

"""Streamlit-side helpers shared by streamlit_app.py and pages/: the cached AppContext, the
signed-in user, the role guard every page calls first. Only this package and pages/ import streamlit."""

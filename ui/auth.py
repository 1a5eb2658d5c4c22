"""Sign-in state and the guard every page calls before rendering anything.

A file under pages/ can be opened by URL on a fresh server before streamlit_app.py ever ran, so
the guard does not rely on the entry script: with no signed-in user it renders the sign-in page
and stops the script.
"""

from __future__ import annotations

import time

import streamlit as st

from control_plane.auth.permissions import Actor, Permission, Role
from control_plane.services import users as user_service
from ui.context import app_context

_KEY = "cp_auth"


def current_actor() -> Actor | None:
    state = st.session_state.get(_KEY)
    if not state:
        return None
    ctx = app_context()
    if time.time() - state["at"] > ctx.settings.session_ttl_minutes * 60:
        st.session_state.pop(_KEY, None)
        st.session_state["cp_expired"] = True
        return None
    actor = user_service.actor_for(ctx, state["username"])  # role changes and disabling apply at once
    if actor is None:
        st.session_state.pop(_KEY, None)
    return actor


def sign_in_as(actor: Actor) -> None:
    st.session_state[_KEY] = {"username": actor.name, "role": actor.role.value, "at": time.time()}


def sign_out() -> None:
    st.session_state.pop(_KEY, None)


def render_sign_in() -> None:
    ctx = app_context()
    st.title("Sign in")
    if st.session_state.pop("cp_expired", False):
        st.info("Your session expired; please sign in again.")
    with st.form("sign_in"):
        username = st.text_input("Username", key="signin_username")
        password = st.text_input("Password", type="password", key="signin_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        actor = user_service.authenticate(ctx, username, password)
        if actor is None:
            st.error("Wrong username or password, or the account is disabled.")
        else:
            sign_in_as(actor)
            st.rerun()


def page_guard(permission: Permission) -> Actor:
    """First line of every page: returns the signed-in actor or stops the script."""
    actor = current_actor()
    if actor is None:
        render_sign_in()
        st.stop()
    if not actor.can(permission):
        st.error(f"Your role ({actor.role.value}) cannot open this page.")
        st.stop()
    return actor


def role_label(role: Role) -> str:
    return {"founder": "Founder", "support": "Support", "oncall": "On-call", "admin": "Admin"}[role.value]

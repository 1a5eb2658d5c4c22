"""Users (admin): who can sign in, with which role; add, change role, disable/enable, reset password."""

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Permission, Role
from control_plane.services import users as user_service
from ui.auth import ROLE_LABELS, ROLE_SEES, page_guard
from ui.context import app_context
from ui.feedback import attempt, csv_download, flash, show_flash
from ui.formatting import table as readable
from ui.text import plain

actor = page_guard(Permission.USERS_MANAGE)
ctx = app_context()
st.title("Users")
show_flash()
ROLES = [r.value for r in Role]

accounts = user_service.list_users(ctx, actor)
table = pd.DataFrame([{
    "username": u.username, "display_name": u.display_name, "email": u.email, "role": u.role,
    "status": "disabled" if u.disabled else "enabled", "sign_in": "password" if u.has_password else "SSO only",
    "created_at": u.created_at, "last_login_at": u.last_login_at,
} for u in accounts])
st.dataframe(readable(table, labels={"display_name": "Name"}), hide_index=True)
csv_download(table, "users.csv", key="users_csv")
with st.expander("What each role sees"):
    st.table([{"Role": ROLE_LABELS[r], "Sees": ROLE_SEES[r]} for r in Role])

add_col, manage_col = st.columns(2, gap="large")
with add_col, st.form("add_user", clear_on_submit=True):
    st.subheader("Add a user")
    username = st.text_input("Username", key="add_username")
    role = st.selectbox("Role", ROLES, format_func=lambda r: ROLE_LABELS[Role(r)], key="add_role")
    display_name = st.text_input("Display name", key="add_display")
    email = st.text_input("E-mail (for single sign-on)", key="add_email")
    password = st.text_input("Password (leave empty for single sign-on only)", type="password", key="add_password")
    add_msg = st.empty()
    if st.form_submit_button("Add user", type="primary", icon=":material/person_add:") and attempt(
            "Adding…", lambda: user_service.add_user(ctx, actor, username, role, password or None,
                                                     display_name=display_name or None, email=email or None),
            where=add_msg):
        flash(f"User {username.strip()} added as {role}.")
        st.rerun()

with manage_col:
    st.subheader("Change a user")
    target = st.selectbox("User", [u.username for u in accounts], index=None, placeholder="Pick a user",
                          key="manage_user")
    chosen = next((u for u in accounts if u.username == target), None)
    if chosen is None:
        st.caption("Pick a user to change their role, disable or enable them, or set a password.")
    else:
        with st.form(f"role_{chosen.username}"):
            new_role = st.selectbox("Role", ROLES, index=ROLES.index(chosen.role),
                                    format_func=lambda r: ROLE_LABELS[Role(r)], key=f"role_new_{chosen.username}")
            confirm = st.checkbox(f"Yes, make {plain(chosen.username)} {new_role}",
                                  key=f"role_confirm_{chosen.username}")
            role_msg = st.empty()
            if st.form_submit_button("Change role"):
                if not confirm:
                    role_msg.error("Tick the confirmation to change the role.")
                elif attempt("Saving…", lambda: user_service.set_role(ctx, actor, chosen.username, new_role),
                             where=role_msg):
                    flash(f"{chosen.username} is now {new_role}; it applies on their next page load.")
                    st.rerun()
        with st.form(f"status_{chosen.username}"):
            verb = "Enable" if chosen.disabled else "Disable"
            confirm = st.checkbox(f"Yes, {verb.lower()} {plain(chosen.username)}",
                                  key=f"status_confirm_{chosen.username}")
            status_msg = st.empty()
            if st.form_submit_button(f"{verb} user"):
                if not confirm:
                    status_msg.error(f"Tick the confirmation to {verb.lower()} the user.")
                elif attempt("Saving…", lambda: user_service.set_disabled(ctx, actor, chosen.username,
                                                                          not chosen.disabled), where=status_msg):
                    flash(f"{chosen.username} {'enabled' if chosen.disabled else 'disabled'}.")
                    st.rerun()
        with st.form(f"password_{chosen.username}", clear_on_submit=True):
            new_password = st.text_input("New password", type="password", key=f"password_new_{chosen.username}")
            password_msg = st.empty()
            if st.form_submit_button("Set password") and attempt(
                    "Saving…", lambda: user_service.set_password(ctx, actor, chosen.username, new_password),
                    where=password_msg):
                flash(f"Password of {chosen.username} changed.")
                st.rerun()

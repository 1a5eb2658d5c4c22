"""Open every page the app has, as each role, on whatever the catalog holds now: the first screen
through streamlit_app.py, every page of the role's menu, and each given tenant's page. Used after
real actions (tests/ui/test_pages_after_actions.py) to prove no screen breaks on their results."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from control_plane.auth.permissions import Actor, Role
from control_plane.services import users
from ui.navigation import pages_for

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("founder", "support", "oncall", "admin")
ADMIN = Actor("walk-setup", Role.ADMIN)


def walkers(ctx) -> dict[str, str]:
    """One account per role (username by role), created once per test."""
    names = {role: f"walk-{role}" for role in ROLES}
    existing = {u.username for u in users.list_users(ctx, ADMIN)}
    for role, name in names.items():
        if name not in existing:
            users.add_user(ctx, ADMIN, name, role, "walk-password-long-enough")
    return names


def signed_in(ctx, script: str, username: str, role: str) -> AppTest:
    """An AppTest of `script` signed in as `username` (created with `role` the first time)."""
    if username not in {u.username for u in users.list_users(ctx, ADMIN)}:
        users.add_user(ctx, ADMIN, username, role, "walk-password-long-enough")
    return app_as(username, role, script)


def app_as(username: str, role: str, script: str = "streamlit_app.py", timeout: float = 60) -> AppTest:
    import streamlit as st

    st.cache_data.clear()  # cached figures are shared across sessions: each opening reads afresh
    at = AppTest.from_file(str(ROOT / script), default_timeout=timeout)
    at.session_state["cp_auth"] = {"username": username, "role": role, "at": time.time()}
    return at


def problems(at: AppTest) -> list[str]:
    """The exceptions a run showed. Outside demo mode streamlit_app.py has switched error details
    off for the process, so the message is Streamlit's redacted one: the traceback is in the
    captured log, and the key of the failure ("role page") says where."""
    return [e.message for e in at.exception]


def open_everything(ctx, tenants: Iterable[str] = (), roles: Iterable[str] = ROLES) -> dict[str, list[str]]:
    """{"role page": [exception messages]} for every screen that failed; empty when all rendered.
    Caches are dropped first, so each screen reads what the actions left."""
    import streamlit as st

    st.cache_data.clear()
    names = walkers(ctx)
    failed: dict[str, list[str]] = {}
    tenants = list(tenants)
    for role in roles:
        at = app_as(names[role], role).run()
        if problems(at):
            failed[f"{role} first screen"] = problems(at)
        for spec in pages_for(Actor(names[role], Role(role))):
            at = at.switch_page(spec.path).run()
            if problems(at):
                failed[f"{role} {spec.path}"] = problems(at)
        for slug in tenants:
            page = app_as(names[role], role, "pages/tenants.py")
            page.query_params["tenant"] = slug
            page.run()
            if problems(page):
                failed[f"{role} tenant {slug}"] = problems(page)
    return failed

"""AppTest plumbing: the app's cached context points at the test catalog; sign a user in by role."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from control_plane.auth.permissions import Actor, Role
from control_plane.services import users

ROOT = Path(__file__).resolve().parents[2]
SESSION_SECRET = "ui-tests-" + "7f3c9a1e5b2d8f4a6c0e9b3d7a1f5c2e"  # signs the sign-in cookie in these tests


@pytest.fixture(scope="session", autouse=True)
def _app_env(database_url):
    """app_context() bootstraps from the environment: point it at the test catalog."""
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "CP_DEMO", "CP_RUN_SCHEDULER_IN_APP", "CP_SESSION_SECRET")}
    os.environ.update({"DATABASE_URL": database_url, "CP_DEMO": "0", "CP_RUN_SCHEDULER_IN_APP": "0",
                       "CP_SESSION_SECRET": SESSION_SECRET})  # the app requires one with DATABASE_URL
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def _no_hidden_errors(caplog):
    """Outside demo mode streamlit_app.py turns an unexpected exception into an error id (ui/errors.py),
    so `at.exception` stays empty: fail the test on such a logged error instead of letting it pass."""
    yield
    hidden = [r for r in caplog.records if r.name == "ui.errors"]
    assert not hidden, f"unexpected error in the app: {hidden[0].exc_info[1]!r}"


@pytest.fixture
def make_app(ctx):
    """make_app("pages/tenants.py", role="support") -> an AppTest signed in as a user of that role,
    created the first time its name is used (role=None: signed out). Call .run() yourself."""

    import streamlit as st

    st.cache_data.clear()  # cached figures are shared across sessions: never across tests

    def make(script: str, role: str | None = None, username: str | None = None, timeout: float = 30) -> AppTest:
        at = AppTest.from_file(str(ROOT / script), default_timeout=timeout)
        if role is not None:
            name = username or f"{role}-user"
            if name not in {u.username for u in users.list_users(ctx, Actor("test", Role.ADMIN))}:
                users.add_user(ctx, Actor("test", Role.ADMIN), name, role, "secret-pw-long-enough")
            import time

            at.session_state["cp_auth"] = {"username": name, "role": role, "at": time.time()}
        return at

    return make


@pytest.fixture
def app_s3(aws, ctx):
    """The app's own context (ui/context.py, built from the environment) pointed at the same fresh
    moto server as `aws`, with the archive bucket: archive and restore from a page reach S3."""
    from ui.context import app_context

    real = app_context()
    saved = real.aws
    real.aws = aws
    aws.client("s3").create_bucket(Bucket=real.settings.archive_bucket)
    yield aws
    real.aws = saved


@pytest.fixture
def app_today(monkeypatch):
    """The app's own context with a fixed clock: Saturday 2026-12-05 09:00 UTC, five days into a month.
    Screens that read "today" through ctx.clock (revenue month-to-date) see that day."""
    from datetime import UTC, datetime

    from tests.clock import FakeClock
    from ui.context import app_context

    clock = FakeClock(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(app_context(), "clock", clock)
    return clock.now.date()

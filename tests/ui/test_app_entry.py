"""streamlit_app.py: sign-in, navigation per role, sign-out, expiry, disabled accounts, OIDC, no accounts."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import AuditEntry
from control_plane.services import users
from ui.navigation import PAGES

APP = "streamlit_app.py"
ADMIN = Actor("test", Role.ADMIN)
EXPECTED = {
    "founder": ["Overview", "Tenants", "Revenue", "Usage", "Uptime", "Migrations", "Audit log"],
    "support": ["Overview", "Tenants", "Usage", "Uptime", "Migrations", "Audit log"],
    "oncall": ["Overview", "Tenants", "Usage", "Uptime", "Jobs", "Scaling", "Clusters", "Migrations", "Audit log"],
    "admin": [p.title for p in PAGES],
}


def nav_titles(at) -> list[str]:
    """What the person can navigate to: the menu's links once signed in (every page is registered,
    so a URL reaches its guard), else the pages registered for a signed-out visitor."""
    menu = [link.proto.label for link in at.sidebar.get("page_link")]
    return menu or [p["page_name"] for p in at._registered_pages.values()]


def through_entry(at):
    """AppTest quirk: its next run re-runs the page file it finished on, bypassing streamlit_app.py
    when a pages/ folder exists. A real browser session re-runs the entry script; so do we."""
    at._finished_page_script_hash = ""
    at._page_hash = ""
    return at


def sign_in(at, username, password):
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_sees_exactly_its_pages(make_app, role):
    at = make_app(APP, role=role).run()
    assert not at.exception
    assert sorted(nav_titles(at)) == sorted(EXPECTED[role])
    assert at.title[0].value == "Overview"


def test_a_page_the_role_may_not_open_says_so_when_opened_by_its_url(make_app):
    """Support follows a /revenue link: the path is known (not silently replaced by Overview) and
    the page's guard says the role cannot open it; the menu still does not offer it."""
    at = make_app(APP, role="support").run()
    assert "revenue" in {p["url_pathname"] for p in at._registered_pages.values()}
    assert "Revenue" not in nav_titles(at)
    at.switch_page("pages/revenue.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Not allowed"]
    assert "Support" in at.error[0].value and "cannot open this page" in at.error[0].value


def test_signed_out_sees_only_sign_in(make_app, ctx):
    users.add_user(ctx, ADMIN, "someone", "support", "pw-1234-long-enough")
    at = make_app(APP).run()
    assert nav_titles(at) == ["Sign in"]
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.dataframe and not at.metric


def test_sign_in_with_password_then_sign_out(make_app, ctx):
    users.add_user(ctx, ADMIN, "sam", "support", "pw-1234-long-enough")
    at = make_app(APP).run()
    sign_in(at, "sam", "wrong")
    assert "Wrong username or password" in at.error[0].value
    sign_in(at, "sam", "pw-1234-long-enough")
    assert at.title[0].value == "Overview"
    assert "Tenants" in nav_titles(at)
    through_entry(at).run()  # widget ids of the entry script are per page: render them as the browser has
    through_entry(at).button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert "cp_auth" not in at.session_state
    with ctx.session_factory() as s:
        actions = [(e.action, e.outcome) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert ("auth.sign_in", "denied") in actions and ("auth.sign_in", "ok") in actions
    assert ("auth.sign_out", "ok") in actions


def test_empty_fields_are_explained(make_app, ctx):
    users.add_user(ctx, ADMIN, "sam", "support", "pw-1234-long-enough")
    at = make_app(APP).run()
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert "Enter a username and a password" in at.error[0].value


def test_session_expires(make_app, ctx):
    at = make_app(APP, role="founder")
    at.session_state["cp_auth"] = {"username": "founder-user", "role": "founder",
                                   "at": time.time() - 10 * 24 * 3600}
    at.run()
    assert nav_titles(at) == ["Sign in"]
    assert "session expired" in at.info[0].value


def test_disabled_account_is_signed_out_on_next_run(make_app, ctx):
    at = make_app(APP, role="support").run()
    assert at.title[0].value == "Overview"
    users.set_disabled(ctx, ADMIN, "support-user", True)
    through_entry(at).run()
    assert nav_titles(at) == ["Sign in"]
    assert "disabled" in at.warning[0].value


def test_role_change_applies_at_once(make_app, ctx):
    at = make_app(APP, role="support").run()
    assert "Users" not in nav_titles(at)
    users.set_role(ctx, ADMIN, "support-user", "admin")
    through_entry(at).run()
    assert "Users" in nav_titles(at)


def test_no_accounts_page_says_how_to_add_the_first_admin(make_app):
    at = make_app(APP).run()
    assert at.subheader[0].value == "No accounts yet"
    assert "users add" in at.code[0].value and "--role admin" in at.code[0].value
    assert not at.text_input  # no sign-in form: nobody could use it


def test_demo_accounts_are_listed_in_demo_mode(make_app, ctx, monkeypatch, pg_server):
    users.add_user(ctx, ADMIN, "founder", "founder", "pw-1234-long-enough")
    at = make_app(APP)
    from ui.context import app_context

    real = app_context()
    monkeypatch.setattr(real, "settings", real.settings.__class__(**{**real.settings.__dict__, "demo": True}))
    monkeypatch.setattr(real, "embedded_server", pg_server)  # demo accounts only on the embedded catalog
    at.run()
    table = at.table[0].value
    assert list(table["Username"]) == ["founder", "support", "oncall", "admin"]
    assert "`demo`" in at.caption[0].value


def test_oidc_buttons_and_identity_mapping(make_app, ctx):
    users.add_user(ctx, ADMIN, "olga", "oncall", None, email="olga@example.com")
    at = make_app(APP)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x",
                          "google": {"client_id": "id", "client_secret": "s",
                                     "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"}}
    at.run()
    assert any(b.label == "Sign in with Google" for b in at.button)
    at.user = {"is_logged_in": True, "email": "Olga@Example.com", "iat": int(time.time())}
    through_entry(at).run()
    assert "Jobs" in nav_titles(at)
    with ctx.session_factory() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "auth.sign_in"))
    assert entry.actor == "olga" and entry.detail == {"method": "oidc"}


def test_oidc_identity_without_account_is_refused(make_app, ctx):
    users.add_user(ctx, ADMIN, "someone", "support", "pw-1234-long-enough")
    at = make_app(APP)
    at.user = {"is_logged_in": True, "email": "stranger@example.com", "iat": int(time.time())}
    at.run()
    assert nav_titles(at) == ["Sign in"]
    assert "no enabled account has that e-mail" in at.error[0].value
    with ctx.session_factory() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "auth.sign_in"))
    assert entry.outcome == "denied"


def test_oidc_session_expires_with_the_token_age(make_app, ctx):
    users.add_user(ctx, ADMIN, "olga", "oncall", None, email="olga@example.com")
    at = make_app(APP)
    at.user = {"is_logged_in": True, "email": "olga@example.com", "iat": int(time.time()) - 10 * 24 * 3600}
    at.run()
    assert nav_titles(at) == ["Sign in"]

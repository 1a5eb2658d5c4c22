"""Sign-in survives a reload (docs/pages.md "Staying signed in across reloads"), as far
as AppTest can show: the sign-in hands the browser a signed cookie through a script, a new
Streamlit session that arrives with that cookie is signed in without the form, sign-out revokes
and clears, and a session revoked elsewhere signs the tab out at its next run (fragments too).

AppTest has no browser request: `st.context.cookies` reads the WebSocket handshake of the session's
client, which AppTest cannot seed (AppTest.context takes no cookies). `_arrive_with` stands in for
that handshake, and only for it; tests/e2e/test_session_browser.py does the same in Chromium."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from control_plane.auth import session_tokens
from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import AuditEntry, SignInSession
from control_plane.services import sessions, users

APP = "streamlit_app.py"
ADMIN = Actor("test", Role.ADMIN)
GOOD = "correct horse battery"
COOKIE_SCRIPT = re.compile(r'document\.cookie = "cp_session=([^;"]*); Path=/; Max-Age=(\d+); SameSite=Strict"')


@pytest.fixture
def app_ctx():
    from ui.context import app_context

    return app_context()


@pytest.fixture
def arrive_with(monkeypatch):
    """What the browser sent when it opened the session: cookies (and no headers or address)."""
    import streamlit.runtime.context as st_context

    def arrive(cookies: dict[str, str]) -> None:
        request = SimpleNamespace(cookies=cookies, headers=[], remote_ip=None)
        monkeypatch.setattr(st_context, "_get_client_context", lambda: request)

    return arrive


def through_entry(at):
    """AppTest re-runs the page file it finished on; a browser re-runs streamlit_app.py (as
    tests/ui/test_app_entry.py does)."""
    at._finished_page_script_hash = ""
    at._page_hash = ""
    return at


def _sign_in(at, username: str, password: str):
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def _scripts(at) -> list[str]:
    return [h.proto.body for h in at.get("html")]


def _set_cookie(at) -> tuple[str, int]:
    found = [m for body in _scripts(at) if (m := COOKIE_SCRIPT.search(body))]
    assert len(found) == 1, _scripts(at)
    return found[0].group(1), int(found[0].group(2))


def _cleared(at) -> bool:
    return any('"cp_session=; Path=/; Max-Age=0; SameSite=Strict"' in body for body in _scripts(at))


def _audit(ctx, action: str) -> list[AuditEntry]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _signed_in_tab(make_app, ctx, app_ctx) -> tuple[object, str]:
    users.add_user(ctx, ADMIN, "sam", "support", GOOD)
    at = _sign_in(make_app(APP).run(), "sam", GOOD)
    assert not at.exception and [t.value for t in at.title] != ["Sign in"]
    cookie, _ = _set_cookie(at)
    through_entry(at).run()  # widget ids of the entry script are per page: render them as the browser has
    return at, cookie


def test_a_password_sign_in_sets_a_signed_strict_cookie_once(make_app, ctx, app_ctx):
    users.add_user(ctx, ADMIN, "sam", "support", GOOD)
    at = _sign_in(make_app(APP).run(), "sam", GOOD)
    cookie, max_age = _set_cookie(at)
    assert max_age == ctx.settings.session_ttl_minutes * 60
    assert all("Secure" in body and 'location.protocol === "https:"' in body for body in _scripts(at))
    session_id = session_tokens.unsign(sessions.cookie_secret(app_ctx), cookie)
    with ctx.session_factory() as s:
        row = s.scalar(select(SignInSession))
    assert row.token_hash == session_tokens.token_hash(session_id) and row.revoked_at is None
    assert at.session_state["cp_auth"]["sid"] == row.id
    through_entry(at).run()  # the next action: the cookie is not written again
    assert not _scripts(at) and "Signed in as **sam** (Support)" in [c.value for c in at.sidebar.caption]


def test_a_reload_with_the_cookie_is_signed_in_without_the_form(make_app, ctx, app_ctx, arrive_with):
    _, cookie = _signed_in_tab(make_app, ctx, app_ctx)
    arrive_with({"cp_session": cookie, "other": "x"})
    reloaded = make_app(APP).run()  # a new Streamlit session: nothing in its session state
    assert not reloaded.exception
    assert not reloaded.text_input and [t.value for t in reloaded.title] != ["Sign in"]
    assert "Signed in as **sam** (Support)" in [c.value for c in reloaded.sidebar.caption]
    assert not _scripts(reloaded)  # the browser keeps the cookie it has
    [entry] = _audit(ctx, "auth.session_resume")
    assert (entry.actor, entry.outcome) == ("sam", "ok")
    through_entry(reloaded).run()
    assert len(_audit(ctx, "auth.session_resume")) == 1  # tried once per session, not per rerun


def test_sign_out_revokes_the_session_and_clears_the_cookie(make_app, ctx, app_ctx, arrive_with):
    at, cookie = _signed_in_tab(make_app, ctx, app_ctx)
    through_entry(at).button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"] and _cleared(at)
    with ctx.session_factory() as s:
        assert s.scalar(select(SignInSession.revoked_reason)) == "signed out"
    arrive_with({"cp_session": cookie})  # a browser that kept the cookie anyway
    reloaded = make_app(APP).run()
    assert [t.value for t in reloaded.title] == ["Sign in"] and _cleared(reloaded)
    assert "You were signed out" in reloaded.info[0].value
    assert _audit(ctx, "auth.session_resume")[-1].reason == "revoked"


def test_sign_out_also_revokes_the_session_of_the_cookie_the_tab_was_opened_with(make_app, ctx, app_ctx,
                                                                                 arrive_with):
    at, _ = _signed_in_tab(make_app, ctx, app_ctx)
    held = sessions.sign_in(app_ctx, "sam", GOOD)  # another sign-in wrote the browser's cookie
    arrive_with({"cp_session": held.cookie})
    through_entry(at).button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"] and _cleared(at)
    with ctx.session_factory() as s:
        assert s.scalars(select(SignInSession.revoked_reason)).all() == ["signed out", "signed out"]
    reloaded = make_app(APP).run()  # the cookie replayed
    assert [t.value for t in reloaded.title] == ["Sign in"]
    assert _audit(ctx, "auth.session_resume")[-1].reason == "revoked"


def test_a_session_revoked_in_another_tab_asks_to_sign_in_at_the_next_action(make_app, ctx, app_ctx,
                                                                            arrive_with):
    first, cookie = _signed_in_tab(make_app, ctx, app_ctx)
    arrive_with({"cp_session": cookie})
    second = make_app(APP).run()
    assert "Signed in as **sam** (Support)" in [c.value for c in second.sidebar.caption]
    through_entry(first).button(key="sign_out").click().run()
    through_entry(second).run()  # any action in the other tab
    assert [t.value for t in second.title] == ["Sign in"]
    assert "You were signed out" in second.info[0].value and _cleared(second)
    assert "cp_auth" not in second.session_state


def test_disabling_the_account_signs_every_tab_out(make_app, ctx, app_ctx):
    at, _ = _signed_in_tab(make_app, ctx, app_ctx)
    users.set_disabled(ctx, ADMIN, "sam", True)
    through_entry(at).run()
    assert [t.value for t in at.title] == ["Sign in"] and "disabled" in at.warning[0].value


@pytest.mark.parametrize("cookie", ["", "garbage", "A" * 5000, "x.y.z", "\u00e9t\u00e9.abc"])
def test_a_forged_cookie_shows_the_sign_in_page_and_is_cleared(make_app, ctx, app_ctx, arrive_with, cookie):
    users.add_user(ctx, ADMIN, "sam", "support", GOOD)
    arrive_with({"cp_session": cookie})
    at = make_app(APP).run()
    assert not at.exception and [t.value for t in at.title] == ["Sign in"]
    assert "cp_auth" not in at.session_state
    if cookie:  # an empty cookie is no cookie: nothing to audit or clear
        assert _cleared(at) and _audit(ctx, "auth.session_resume")[-1].reason == "forged"


def _live_fragment_alone() -> None:
    """A run_every fragment, rerun on its own (ui/fragments.py): nothing of the page runs before it."""
    import streamlit as st

    from control_plane.auth.permissions import Permission
    from ui.fragments import guarded_fragment

    @guarded_fragment(Permission.TENANTS_READ, run_every=30)
    def live(*, actor) -> None:
        st.dataframe({"served_to": [actor.name]})

    live()


def test_the_fragment_guard_sees_a_session_revoked_elsewhere(ctx, app_ctx):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    users.add_user(ctx, ADMIN, "sam", "support", GOOD)
    started = sessions.sign_in(app_ctx, "sam", GOOD)
    at = AppTest.from_function(_live_fragment_alone, default_timeout=30)
    at.session_state["cp_auth"] = {"username": "sam", "role": "support", "method": "password",
                                   "at": started.session.created_at.timestamp(),
                                   "expires": started.session.expires_at.timestamp(), "sid": started.session.id}
    at.run()
    assert at.dataframe[0].value["served_to"].tolist() == ["sam"]
    sessions.end(app_ctx, Actor("sam", Role.SUPPORT), [started.session.id])  # "Sign out" in another tab
    at.run()
    assert not at.dataframe and [t.value for t in at.title] == ["Sign in"]
    assert "You were signed out" in at.info[0].value


def test_the_cookie_is_written_before_anything_says_signed_in(make_app, ctx, app_ctx):
    """A reload the moment "Signed in as" shows must find the cookie (tests/e2e/test_session_browser.py
    reloads at that moment in Chromium). The browser runs a page's script only after painting it,
    so in the run after the sign-in the line is hidden and the cookie script itself reveals it,
    after writing the cookie."""
    users.add_user(ctx, ADMIN, "sam", "support", GOOD)
    at = _sign_in(make_app(APP).run(), "sam", GOOD)
    texts = [getattr(getattr(e, "proto", None), "body", None) or getattr(e, "value", None) or ""
             for e in at.sidebar.children.values()]
    assert not any("Signed in as" in c.value for c in at.sidebar.caption)
    [body] = [str(t) for t in texts if "document.cookie" in str(t)]
    assert '<p hidden' in body and "Signed in as sam (Support)" in body
    assert body.index("document.cookie") < body.index("shown.hidden = false")
    through_entry(at).run()  # any later run: the ordinary caption
    assert "Signed in as **sam** (Support)" in [c.value for c in at.sidebar.caption]

"""Fragments re-check the session on every run (ui/fragments.py). A fragment reruns without its
page script, so the page guard never sees those runs: here the fragment is run the same way,
without anything of the page before it, and must stop serving data once the account is disabled,
demoted or its session expired."""

from __future__ import annotations

import re
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from control_plane.auth.permissions import Actor, Role
from control_plane.services import users
from tests.factories import make_tenant

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor("test", Role.ADMIN)
PASSWORD = "long-enough-password-1"


def _tenant_list_fragment_alone() -> None:
    """What a search keystroke reruns: the list fragment and nothing else of pages/tenants.py."""
    from ui.context import app_context
    from ui.tenant_list import render_list

    render_list(app_context())


def _jobs_like_fragment_alone() -> None:
    """A run_every fragment that needs a permission the account may lose."""
    import streamlit as st

    from control_plane.auth.permissions import Permission
    from ui.fragments import guarded_fragment

    @guarded_fragment(Permission.JOBS_RUN, run_every=30)
    def live(*, actor) -> None:
        st.dataframe({"served_to": [actor.name], "role": [actor.role.value]})

    live()


def _app(ctx, function, name: str, role: str, at_time: float | None = None) -> AppTest:
    import streamlit as st

    st.cache_data.clear()
    users.add_user(ctx, ADMIN, name, role, PASSWORD)
    at = AppTest.from_function(function, default_timeout=30)
    at.session_state["cp_auth"] = {"username": name, "role": role, "at": at_time or time.time()}
    return at


def test_search_fragment_stops_serving_tenants_once_the_account_is_disabled(ctx, new_slug):
    slug = new_slug("frag")
    make_tenant(ctx, slug, name="Secret Customer Ltd")
    at = _app(ctx, _tenant_list_fragment_alone, "sue", "support").run()
    assert not at.exception, at.exception
    assert slug in at.dataframe[0].value["Slug"].tolist()

    users.set_disabled(ctx, ADMIN, "sue", True)
    at.run()
    assert not at.exception, at.exception
    assert not at.dataframe and "q" not in [w.key for w in at.text_input]  # no table, no search box
    assert [t.value for t in at.title] == ["Sign in"]
    assert "disabled" in at.warning[0].value


def test_fragment_stops_once_the_session_expired(ctx, new_slug):
    slug = new_slug("frag")
    make_tenant(ctx, slug)
    ttl = ctx.settings.session_ttl_minutes * 60
    started = time.time() - ttl + 2  # a session with two seconds left
    at = _app(ctx, _tenant_list_fragment_alone, "sam", "support", at_time=started).run()
    assert slug in at.dataframe[0].value["Slug"].tolist()
    at.session_state["cp_auth"] = {"username": "sam", "role": "support", "at": started - 3}  # now past its end
    at.run()
    assert not at.dataframe
    assert [t.value for t in at.title] == ["Sign in"]
    assert "expired" in at.info[0].value


def test_fragment_uses_the_current_role_and_stops_when_it_loses_the_permission(ctx):
    users.add_user(ctx, ADMIN, "root", "admin", PASSWORD)  # the catalog keeps one admin
    at = _app(ctx, _jobs_like_fragment_alone, "olive", "admin").run()
    assert at.dataframe[0].value.to_dict("records") == [{"served_to": "olive", "role": "admin"}]
    users.set_role(ctx, ADMIN, "olive", "oncall")
    at.run()
    assert at.dataframe[0].value.to_dict("records") == [{"served_to": "olive", "role": "oncall"}]
    users.set_role(ctx, ADMIN, "olive", "founder")  # founders may not run jobs
    at.run()
    assert not at.dataframe
    assert [t.value for t in at.title] == ["Sign in"]


def test_every_fragment_of_the_app_is_guarded():
    """A plain st.fragment in pages/ or ui/ would skip the session check."""
    offenders = [str(path.relative_to(ROOT)) for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")]
                 if path.name != "fragments.py" and re.search(r"\bst\.fragment\b|\bfragment\(", path.read_text())]
    assert offenders == []

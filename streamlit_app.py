"""Entry point: settings, sign-in, and st.navigation with only the pages the role may see.

The menu is drawn here with st.page_link rather than by st.navigation itself: the automatic
sidebar is switched off in .streamlit/config.toml, because on a fresh server it would list every
file under pages/ to a signed-out visitor before this script ever ran.

Every page is registered with st.navigation, the menu links only the role's own; a page the role
may not open, reached by its URL, says so itself (ui/auth.py page_guard).

An unexpected exception shows only an error id, except in demo mode on the embedded catalog; a
catalog that cannot be reached is always one short sentence (ui/errors.py).
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from ui.auth import current_actor, flush_cookie, render_signed_out, role_label, session_expires_at, sign_out
from ui.context import context_or_stop
from ui.errors import details_in_browser, run_guarded, show_error_details
from ui.navigation import PAGES, pages_for
from ui.text import plain

ICON = Path(__file__).resolve().parent / "ui" / "assets" / "icon.png"

# The icon ships with the app: a ":material/…:" page icon makes the browser fetch it from a public
# font host, and an internal app makes no outside request (tests/e2e/test_no_outside_requests.py).
st.set_page_config(page_title="Control Plane", page_icon=str(ICON), layout="wide")

ctx = context_or_stop()
show_error_details(ctx.settings)


def main() -> None:
    actor = current_actor()
    if actor is None:
        navigation = st.navigation([st.Page(render_signed_out, title="Sign in", icon=":material/login:")],
                                   position="hidden")
    else:
        menu = st.sidebar.container()
        # The account block goes before st.navigation: widgets created after it belong to the page
        # being run, and a sign-out click must not depend on which page that is.
        with st.sidebar:
            st.divider()
            if ctx.settings.demo:
                st.badge("Demo mode", icon=":material/science:", color="orange",
                         help="Generated demo data and simulated AWS; nothing here is a real customer.")
            # Right after a sign-in, the script that writes the cookie draws this line itself: a
            # reload the moment it shows must find the cookie written.
            if not flush_cookie(st.sidebar, then_show=f"Signed in as {actor.name} ({role_label(actor.role)})"):
                st.caption(f"Signed in as **{plain(actor.name)}** ({role_label(actor.role)})")
            expires = session_expires_at()
            if expires is not None:
                st.caption(f"Session ends at {time.strftime('%H:%M', time.localtime(expires))}")
            if st.button("Sign out", key="sign_out", icon=":material/logout:"):
                sign_out()
                st.rerun()
        # Every page is registered, so a link to one the role may not open (support following a
        # /revenue link) reaches that page's own guard, which says so, instead of Streamlit sending
        # an unknown path to Overview without a word. The menu lists only the role's pages.
        allowed = {spec.path for spec in pages_for(actor)}
        sections: dict[str, list[st.Page]] = {}
        menu_pages: dict[str, list[st.Page]] = {}
        for spec in PAGES:
            page = st.Page(spec.path, title=spec.title, icon=spec.icon)
            sections.setdefault(spec.section, []).append(page)
            if spec.path in allowed:
                menu_pages.setdefault(spec.section, []).append(page)
        navigation = st.navigation(sections, position="hidden")
        with menu:
            for section, pages in menu_pages.items():
                st.caption(section)
                for page in pages:
                    st.page_link(page, label=page.title, icon=page.icon)
    navigation.run()


run_guarded(main, details=details_in_browser(ctx.settings))

"""Text people typed is shown as text on every screen (docs/security.md "Untrusted input"): a tenant name,
suspend reason, owner e-mail, a slug from a link, a user name or a service message quoting any of
them never becomes an image, a link or HTML. Every Markdown body the run produced is parsed the
way a renderer would (CommonMark + raw HTML + bare-URL links) and must hold no such token."""

from __future__ import annotations

import time

from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from control_plane.auth.permissions import Actor, Role
from control_plane.services import tenants, users
from tests.factories import make_tenant
from ui.text import plain

PAGE = "pages/tenants.py"
PASSWORD = "long-enough-password-1"
PIXEL = "![x](http://127.0.0.1:9/pixel) [link](http://127.0.0.1:9/l) <img src=http://127.0.0.1:9/i>"
MARKDOWN = MarkdownIt("gfm-like")
ACTIVE = {"link_open", "image", "html_inline", "html_block"}


def signed_in(make_app, ctx, script: str, role: str, name: str | None = None) -> AppTest:
    at = make_app(script)
    name = name or f"{role}-reader"
    users.add_user(ctx, Actor("test", Role.ADMIN), name, role, PASSWORD)
    at.session_state["cp_auth"] = {"username": name, "role": role, "at": time.time()}
    return at


def markdown_bodies(at: AppTest) -> list[str]:
    """Every string of the run that Streamlit renders as Markdown."""
    bodies = [e.value for kind in ("markdown", "caption", "title", "header", "subheader", "warning", "error",
                                   "info", "success") for e in getattr(at, kind)]
    bodies += [m.label for m in at.metric] + [str(m.value) for m in at.metric]
    bodies += [w.label for kind in ("checkbox", "expander", "text_input", "text_area", "selectbox", "button")
               for w in getattr(at, kind)]
    return [b for b in bodies if isinstance(b, str)]


def active_tokens(text: str) -> set[str]:
    stack, found = list(MARKDOWN.parse(text)), set()
    while stack:
        token = stack.pop()
        found |= {token.type} & ACTIVE
        stack.extend(token.children or [])
    return found


def assert_inert(at: AppTest) -> None:
    for body in markdown_bodies(at):
        assert not active_tokens(body), body


def test_tenant_detail_shows_typed_name_reason_and_owner_as_text(make_app, ctx, new_slug, admin):
    slug = new_slug("md")
    make_tenant(ctx, slug, name=PIXEL, owner_email="![o](http://127.0.0.1:9/o)@evil.example")
    tenants.suspend(ctx, admin, slug, f"reason {PIXEL} :red[alert] www.evil.example")
    at = signed_in(make_app, ctx, PAGE, "support")
    at.query_params["tenant"] = slug
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == plain(PIXEL)
    assert plain(f"reason {PIXEL} :red[alert] www.evil.example") in at.warning[0].value
    assert any(plain("![o](http://127.0.0.1:9/o)@evil.example") in m.value for m in at.markdown)
    assert any(plain(PIXEL) in c.value for c in at.caption)  # "Suspended because: …" by the Resume form
    assert_inert(at)


def test_a_slug_from_the_link_is_shown_as_text(make_app, ctx):
    at = signed_in(make_app, ctx, PAGE, "founder")
    at.query_params["tenant"] = PIXEL
    at.run()
    assert not at.exception
    assert plain(repr(PIXEL)) in at.error[0].value
    assert_inert(at)


def _show_service_error() -> None:
    from control_plane.errors import NotFound
    from ui.feedback import show_error

    show_error(NotFound("No tenant '![x](http://127.0.0.1:9/pixel)' [l](http://127.0.0.1:9/l)."))


def test_service_messages_quoting_typed_text_are_shown_as_text():
    at = AppTest.from_function(_show_service_error).run()
    assert at.error[0].value == plain("No tenant '![x](http://127.0.0.1:9/pixel)' [l](http://127.0.0.1:9/l).")
    assert_inert(at)


def test_users_page_and_sidebar_show_user_names_as_text(make_app, ctx):
    users.add_user(ctx, Actor("test", Role.ADMIN), "mail@evil.example", "support", PASSWORD)
    at = signed_in(make_app, ctx, "pages/users.py", "admin", name="www.evil.example")
    at.run()
    at.selectbox(key="manage_user").select("mail@evil.example").run()
    assert not at.exception, at.exception
    assert any(c.label == plain("Yes, disable mail@evil.example") or plain("mail@evil.example") in c.label
               for c in at.checkbox)
    assert_inert(at)
    app = signed_in(make_app, ctx, "streamlit_app.py", "founder", name="http.evil.example")
    app.run()
    assert any(plain("http.evil.example") in c.value for c in app.sidebar.caption)
    assert_inert(app)


def test_a_single_sign_on_email_is_text_in_the_refusal(make_app, ctx):
    """The identity provider's e-mail is whatever the identity says: quoted in the refusal as text."""
    users.add_user(ctx, Actor("test", Role.ADMIN), "someone", "support", PASSWORD)
    at = make_app("streamlit_app.py")
    email = f"{PIXEL}@evil.example"
    at.user = {"is_logged_in": True, "email": email, "iat": int(time.time())}
    at.run()
    assert not at.exception
    refusal = next(e.value for e in at.error if "no enabled account has that e-mail" in e.value)
    assert plain(email.lower()) in refusal
    assert set().union(*(active_tokens(b) for b in markdown_bodies(at))) == set()


def test_uptime_and_revenue_forms_show_typed_text_as_text(make_app, ctx):
    """The forms moved into ui/ (SLA report, maintenance window, incident note, plan editor) quote
    what was typed only as text, in their answers and in the service's refusals."""
    from tests.ui.test_uptime_page import seed_checks

    seed_checks(ctx, PIXEL, "xxxx")  # a target named by an import, with an incident
    at = signed_in(make_app, ctx, "pages/uptime.py", "admin")
    at.run()
    at.text_area(key="ack_note").input(PIXEL)
    next(b for b in at.button if b.label == "Save note").click().run()
    assert not at.exception, at.exception
    assert any("Note saved" in s.value for s in at.success)
    assert_inert(at)
    at.text_input(key="sla_slug").input(PIXEL)
    at.text_input(key="mw_scope").input(PIXEL)
    at.text_input(key="mw_reason").input(PIXEL)
    next(b for b in at.button if b.label == "Declare maintenance window").click().run()
    assert not at.exception, at.exception
    assert any("declared" in s.value for s in at.success)  # a window for the target of that name
    assert any("Invalid slug" in e.value for e in at.error)  # the SLA report's slug, quoted as text
    assert_inert(at)
    revenue = signed_in(make_app, ctx, "pages/revenue.py", "admin", name="rev-admin")
    revenue.run()
    revenue.text_input(key="plan_code").input(PIXEL)
    revenue.text_input(key="plan_price").input(PIXEL)
    revenue.get("form_submit_button")[0].click().run()
    assert not revenue.exception, revenue.exception
    assert any("Plan code" in e.value for e in revenue.error)
    assert_inert(revenue)

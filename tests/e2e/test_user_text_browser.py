"""In Chromium: text people typed stays text (no image fetched, no link drawn), and a fragment
(search as you type) stops serving data the moment the account is disabled (docs/security.md
"Untrusted input", docs/security.md "Page guard")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from control_plane.auth.permissions import Actor, Role
from control_plane.errors import ControlPlaneError
from control_plane.services import tenants, users
from tests.e2e.helpers import eventually, heading, open_page, settled, sign_in
from tests.factories import make_tenant
from ui.text import JOINER

ADMIN = Actor("e2e-admin", Role.ADMIN)
PASSWORD = "browser-text-password"


@pytest.fixture
def pixel_server() -> Iterator[tuple[int, list[str]]]:
    """A loopback server that records every request: the browser must send it none."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def open_tenant(page: Page, slug: str) -> None:
    open_page(page, "Tenants")
    # The picker lists the page shown (50 tenants): search first, as a person would in a large fleet.
    page.get_by_role("searchbox", name="Search").fill(slug)
    expect(page.get_by_text("1 tenant match").first).to_be_visible()
    settled(page)
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Open a tenant")
    box.click()
    page.keyboard.type(slug)
    page.keyboard.press("Enter")
    settled(page)


def shown(page: Page, selector: str) -> str:
    """What a person reads there (ui/text.py puts invisible word joiners into typed text)."""
    return " ".join(page.locator(selector).all_inner_texts()).replace(JOINER, "")


def test_typed_markdown_and_html_render_as_literal_text(app_server, page, ctx, new_slug, pixel_server):
    port, requests = pixel_server
    host = f"http://127.0.0.1:{port}"
    name = f"![x]({host}/pixel) [link]({host}/l) <img src={host}/img>"
    reason = (f"![r]({host}/reason) [why]({host}/why) <img src={host}/reason-img> www.evil.example "
              ":smile: :red[alert] :material/warning: $x^2$ **bold**")
    owner = f"![o]({host}/owner)@evil.example"
    slug = new_slug("mdx")
    make_tenant(ctx, slug, name=name, owner_email=owner)
    tenants.suspend(ctx, ADMIN, slug, reason)
    users.add_user(ctx, ADMIN, "text-support", "support", PASSWORD)

    sign_in(page, app_server.url, "text-support", PASSWORD)
    open_tenant(page, slug)
    expect(page.locator('[data-testid="stAlert"]').first).to_be_visible()
    page.wait_for_load_state("networkidle")

    assert name in shown(page, "h1")  # the name exactly as typed
    alerts = shown(page, '[data-testid="stAlert"]')
    assert f"Suspended: {reason}" in alerts
    # Polled: a read in the middle of the rerun that opened the tenant can miss a section not yet redrawn.
    eventually(lambda: owner.lower() in shown(page, '[data-testid="stMain"]'), what="the owner shown as typed")
    app = page.locator('[data-testid="stApp"]')
    assert app.locator(f'img[src*="127.0.0.1:{port}"], a[href*="127.0.0.1:{port}"]').count() == 0
    assert app.locator('a[href*="evil.example"], a[href^="mailto:"]').count() == 0
    assert app.locator('[data-testid="stAlert"] strong, [data-testid="stAlert"] .katex').count() == 0
    assert requests == []


def test_a_note_on_the_tenant_page_stays_text(app_server, page, ctx, new_slug, pixel_server):
    from control_plane.services import tenant_story

    port, requests = pixel_server
    host = f"http://127.0.0.1:{port}"
    note = f"![n]({host}/note) [see]({host}/see) <img src={host}/note-img> **loud** :red[x]\nline two"
    slug = new_slug("notx")
    make_tenant(ctx, slug)
    tenant_story.add_note(ctx, Actor("note-support", Role.SUPPORT), slug, note)
    users.add_user(ctx, ADMIN, "note-founder", "founder", PASSWORD)

    sign_in(page, app_server.url, "note-founder", PASSWORD)
    open_tenant(page, slug)
    expect(page.get_by_test_id("stText").get_by_text("line two")).to_be_visible()  # the note as drawn
    page.wait_for_load_state("networkidle")

    assert note.split("\n", maxsplit=1)[0] in shown(page, '[data-testid="stText"]')
    app = page.locator('[data-testid="stApp"]')
    assert app.locator(f'img[src*="127.0.0.1:{port}"], a[href*="127.0.0.1:{port}"]').count() == 0
    assert app.locator('[data-testid="stText"] strong').count() == 0
    assert requests == []


def test_search_fragment_stops_when_the_account_is_disabled(app_server, page, ctx, new_slug):
    slug = new_slug("fragx")
    make_tenant(ctx, slug, name="Only For Enabled Ltd")
    users.add_user(ctx, ADMIN, "frag-support", "support", PASSWORD)
    users.add_user(ctx, ADMIN, "frag-admin", "admin", PASSWORD)  # the catalog keeps an admin
    sign_in(page, app_server.url, "frag-support", PASSWORD)
    open_page(page, "Tenants")
    search = page.get_by_role("searchbox", name="Search")
    search.press_sequentially(slug[:6], delay=30)
    expect(page.get_by_text("1 tenant match")).to_be_visible()

    users.set_disabled(ctx, ADMIN, "frag-support", True)
    search.press_sequentially("_", delay=30)  # one more keystroke: a fragment-only rerun
    heading(page, "Sign in")  # the whole page reran and its guard took over (the notice may flash by)
    # what the list had drawn goes once that run ends (expect polls until its deadline)
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(0)
    expect(page.locator('[data-testid="stApp"]')).not_to_contain_text("Only For Enabled")
    # and the sign-in form is what stays (a rerun still drawing may leave main empty for a moment)
    expect(page.locator("h1").filter(has_text="Sign in").first).to_be_visible()


def test_a_user_name_typed_at_sign_in_stays_text_on_the_audit_page(app_server, page, ctx, pixel_server):
    port, requests = pixel_server
    typed = f"![x](http://127.0.0.1:{port}/signin) [l](http://127.0.0.1:{port}/l)"
    try:
        users.authenticate(ctx, typed, "not-the-password-at-all")
    except ControlPlaneError:
        pass  # refused either way; the audit log holds the typed name
    users.add_user(ctx, ADMIN, "text-admin", "admin", PASSWORD)
    sign_in(page, app_server.url, "text-admin", PASSWORD)
    open_page(page, "Audit log")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Actor").click()  # the list of actors
    expect(page.get_by_role("option", name=typed)).to_be_visible()
    page.wait_for_load_state("networkidle")
    app = page.locator('[data-testid="stApp"]')
    assert app.locator(f'img[src*="127.0.0.1:{port}"], a[href*="127.0.0.1:{port}"]').count() == 0
    assert page.locator(f'img[src*="127.0.0.1:{port}"], a[href*="127.0.0.1:{port}"]').count() == 0
    assert requests == []

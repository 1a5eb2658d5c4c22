"""In Chromium against a real server: deep links signed out, each role's navigation, and support
provisioning, suspending and resuming a tenant through the UI with the database checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import Tenant
from control_plane.services import users
from tests.e2e.helpers import NAV_LINK, eventually, heading, nav_titles, open_page, settled, sign_in
from tests.factories import make_tenant
from ui.navigation import PAGES

ADMIN = Actor("e2e", Role.ADMIN)
PASSWORD = "e2e-pass-long-enough"


def add_accounts(ctx) -> None:
    for role in Role:
        users.add_user(ctx, ADMIN, role.value, role.value, PASSWORD)


def test_signed_out_deep_links_to_every_page_show_sign_in(fresh_server, page, ctx, new_slug):
    add_accounts(ctx)
    secret = new_slug("hidden")
    make_tenant(ctx, secret, name="Must Not Leak Ltd")
    for spec in PAGES:  # the first visitor of this server: "/" has never been loaded
        page.goto(f"{fresh_server.url}/{Path(spec.path).stem}")
        heading(page, "Sign in")
        settled(page)
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert secret not in body and "Must Not Leak" not in body, spec.path
        assert page.locator('[data-testid="stDataFrame"], [data-testid="stMetric"]').count() == 0, spec.path
        assert page.locator("h1").all_inner_texts() == ["Sign in"], spec.path
        assert page.locator(NAV_LINK).count() == 0, spec.path  # no list of screens either


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_sees_exactly_its_pages(app_server, page, ctx, role):
    add_accounts(ctx)
    sign_in(page, app_server.url, role, PASSWORD)
    actor = Actor(role, Role(role))
    assert nav_titles(page) == [p.title for p in PAGES if actor.can(p.permission)]
    heading(page, "Overview")
    assert page.locator('[data-testid="stException"]').count() == 0


def test_sign_out_returns_to_sign_in(app_server, page, ctx):
    add_accounts(ctx)
    sign_in(page, app_server.url, "founder", PASSWORD)
    page.get_by_role("button", name="Sign out").click()
    heading(page, "Sign in")
    expect(page.locator(NAV_LINK)).to_have_count(0)


def test_wrong_password_is_refused(app_server, page, ctx):
    add_accounts(ctx)
    page.goto(app_server.url + "/")
    heading(page, "Sign in")
    page.get_by_role("textbox", name="Username").fill("support")
    page.get_by_role("textbox", name="Password").fill("nope")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Wrong username or password")).to_be_visible()


def test_overlong_user_name_gets_a_clear_error_not_a_traceback(app_server, page, ctx):
    """A 6,000-character name once showed a SQLAlchemy traceback (SQL and parameters) to a signed-out
    browser; now the input is bounded before any SQL and the browser shows one sentence."""
    add_accounts(ctx)
    page.goto(app_server.url + "/")
    heading(page, "Sign in")
    page.get_by_role("textbox", name="Username").fill("A" * 6000)
    page.get_by_role("textbox", name="Password").fill("whatever-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("A username has at most 128 characters.")).to_be_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "SELECT" not in page.locator('[data-testid="stMain"]').inner_text()


def test_support_provisions_suspends_and_resumes(app_server, page, ctx, new_slug):
    add_accounts(ctx)
    slug = new_slug("e2e")

    def status() -> str | None:
        with ctx.session_factory() as s:
            return s.scalar(select(Tenant.status).where(Tenant.slug == slug))

    sign_in(page, app_server.url, "support", PASSWORD)
    open_page(page, "Tenants")
    page.get_by_text("Provision a new tenant").click()
    page.get_by_role("textbox", name="Slug").fill(slug)
    page.get_by_role("textbox", name="Company name").fill("Browser Made Ltd")
    page.get_by_role("textbox", name="Owner e-mail").fill("owner@browser.example")
    page.get_by_role("button", name="Provision").click()
    heading(page, "Browser Made Ltd")
    expect(page.get_by_text(f"Tenant {slug} provisioned")).to_be_visible()
    eventually(lambda: status() == "active", what="tenant active in the catalog")

    page.get_by_text("Suspend", exact=True).click()
    page.get_by_role("textbox", name="Reason (required, goes to the audit log)").fill("payment overdue")
    page.get_by_text(f"Yes, suspend {slug} now").click()
    page.get_by_role("button", name="Suspend tenant").click()
    expect(page.get_by_text(f"Tenant {slug} suspended.")).to_be_visible()
    eventually(lambda: status() == "suspended", what="tenant suspended in the catalog")
    with ctx.session_factory() as s:
        assert s.scalar(select(Tenant.status_reason).where(Tenant.slug == slug)) == "payment overdue"

    page.get_by_role("button", name="Resume tenant").click()
    expect(page.get_by_text(f"Tenant {slug} resumed.")).to_be_visible()
    eventually(lambda: status() == "active", what="tenant active again")


def test_tenant_search_as_you_type(app_server, page, ctx, new_slug):
    add_accounts(ctx)
    wanted, other = new_slug("findme"), new_slug("other")
    make_tenant(ctx, wanted, name="Needle Corp")
    make_tenant(ctx, other, name="Haystack Inc")
    sign_in(page, app_server.url, "founder", PASSWORD)
    open_page(page, "Tenants")
    expect(page.get_by_text("2 tenants")).to_be_visible()
    page.get_by_role("searchbox", name="Search").press_sequentially("needle", delay=30)
    expect(page.get_by_text("1 tenant match")).to_be_visible()


def test_overview_figure_opens_the_filtered_tenant_list(app_server, page, ctx, new_slug, admin):
    from control_plane.services import tenants

    add_accounts(ctx)
    live, paused = new_slug("live"), new_slug("paused")
    make_tenant(ctx, live)
    make_tenant(ctx, paused)
    tenants.suspend(ctx, admin, paused, "unpaid")
    sign_in(page, app_server.url, "support", PASSWORD)
    page.locator('[data-testid="stMain"] [data-testid="stPageLink-NavLink"]').nth(1).click()  # under "Suspended"
    heading(page, "Tenants")
    expect(page.get_by_text("1 tenant match")).to_be_visible()
    cells = page.locator('[data-testid="stDataFrame"] table td')
    expect(cells.filter(has_text=paused).first).to_be_attached()
    expect(cells.filter(has_text=live)).to_have_count(0)

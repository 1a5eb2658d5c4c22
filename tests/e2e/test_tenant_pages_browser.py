"""The Tenants page pages and searches in the database, seen in Chromium (issue 19; docs/lifecycle.md
"Listing tenants at fleet scale"): of 120 tenants the browser gets 50 at a time, Next brings the
next 50, and a search finds tenants far past the page shown, with its own pages."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import Tenant
from control_plane.services import users
from tests.e2e.helpers import open_page, settled, sign_in
from ui.tenant_list import PAGE_SIZE

ADMIN = Actor("e2e", Role.ADMIN)
PASSWORD = "e2e-pass-long-enough"
GRID = '[data-testid="stDataFrame"] table[role="grid"]'
TENANTS = 120


def _catalog_rows(ctx, names: dict[str, str]) -> None:
    """Catalog rows only: the list never looks at the schemas, and 120 provisions would be slow."""
    with ctx.session_factory() as s:
        for slug, name in names.items():
            s.add(Tenant(slug=slug, name=name, plan_code="team", status="active", cluster_name="default",
                         template_version=1))
        s.commit()


def _showing(page: Page, caption: str, first_slug: str, rows: int) -> None:
    """The caption, the grid holding exactly `rows` tenants (its accessible table counts the header
    row too; the table itself draws only the rows in view) and the first of them."""
    expect(page.get_by_text(caption).first).to_be_visible()
    expect(page.locator(GRID)).to_have_attribute("aria-rowcount", str(rows + 1))
    expect(page.locator(f"{GRID} td").filter(has_text=first_slug).first).to_be_attached()
    settled(page)


def test_the_browser_gets_one_page_at_a_time_and_a_search_reaches_past_it(app_server, page, ctx, new_slug):
    slugs = sorted(new_slug("pb") for _ in range(TENANTS))
    kestrel = slugs[1::2]  # "Kestrel" in the name of every other tenant: 60, over all three pages
    _catalog_rows(ctx, {s: (f"Kestrel {i} Ltd" if s in kestrel else f"Plain {i} Ltd") for i, s in enumerate(slugs)})
    users.add_user(ctx, ADMIN, "pager", "support", PASSWORD)
    sign_in(page, app_server.url, "pager", PASSWORD)
    open_page(page, "Tenants")
    search = page.get_by_role("searchbox", name="Search")

    _showing(page, f"{TENANTS} tenants · 1–{PAGE_SIZE} shown", slugs[0], PAGE_SIZE)  # not all 120
    expect(page.get_by_text("Page (of 3)")).to_be_visible()
    page.get_by_role("button", name="Next").click()
    _showing(page, f"{PAGE_SIZE + 1}–{2 * PAGE_SIZE} shown", slugs[PAGE_SIZE], PAGE_SIZE)

    # The last tenant, on page 3, found by a fragment of its slug typed on page 2: back to page one.
    search.fill(slugs[-1][-6:])
    _showing(page, "1 tenant match · 1–1 shown", slugs[-1], 1)

    # More matches than a page: paged too, and the database left the "Plain" tenants out.
    search.fill("kestrel")
    _showing(page, f"60 tenants match · 1–{PAGE_SIZE} shown", kestrel[0], PAGE_SIZE)
    expect(page.get_by_text("Page (of 2)")).to_be_visible()
    page.get_by_role("button", name="Next").click()
    _showing(page, f"{PAGE_SIZE + 1}–60 shown", kestrel[PAGE_SIZE], 60 - PAGE_SIZE)

    search.fill("")
    _showing(page, f"{TENANTS} tenants · 1–{PAGE_SIZE} shown", slugs[0], PAGE_SIZE)
